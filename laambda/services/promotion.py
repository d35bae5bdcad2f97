"""Promotion: the upstream app's live artifact, released in downstream apps, nothing built.

`promote` (Heroku's `pipelines:promote`) takes the build the upstream app's live release
runs and, in each downstream app, records a build with origin "promotion" that points at it
(same commit, artifact, sha256, runtime, architecture and Procfile) and that app's deploy
release, with the downstream app's own config and function settings. The release goes to
the applier after commit, as a pushed build's does, so the worker deploys it like any
deploy and rollback treats it like any release.

Everything happens in the caller's transaction: every downstream app is checked (and
locked, in name order) before any row is written, so a refusal of one changes nothing.

`diff` says which commits the upstream app runs that the downstream one does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from laambda.crypto import Cipher
from laambda.db.base import utcnow
from laambda.db.models import App, Build, Pipeline, Release, User
from laambda.domain.env_vars import size_problem
from laambda.domain.function import architecture_or_default
from laambda.domain.pipeline import Stage
from laambda.domain.promotion import Artifact, next_stage, previous_stage, promotion_problem
from laambda.domain.status import BuildStatus, ReleaseStatus
from laambda.errors import Conflict, PromotionRefused
from laambda.gitrepo import git, holds
from laambda.services.app import app_service
from laambda.services.applier import ReleaseApplier
from laambda.services.audit import audit
from laambda.services.build import build_service
from laambda.services.pipeline import pipeline_service
from laambda.services.release import release_service
from laambda.services.teardown import pipeline_repository_path, repository_path

_HEX = re.compile(r"^[0-9a-f]{7,64}$")
DIFF_LIMIT = 200  # commits listed at most
GIT_TIMEOUT = 10.0  # seconds


@dataclass(frozen=True)
class Promoted:
    """One downstream app's outcome: its new release, or None and why nothing changed."""

    app: App
    release: Release | None
    detail: str


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    subject: str


@dataclass(frozen=True)
class Diff:
    """What promoting `upstream` to `downstream` would bring: `commits` (the upstream is
    ahead by them) newest first, found with git (`source` "git") or, when no repository holds
    both commits, from the upstream app's builds (`source` "builds"); `behind`: the commits
    the downstream runs that the upstream does not (git only: a hotfix pushed to the
    downstream app), which a promotion would undo; both: they diverged. `up_to_date` when
    the downstream runs the upstream's code and nothing more."""

    upstream: App
    downstream: App
    upstream_commit: str | None
    downstream_commit: str | None
    commits: list[Commit]
    source: str
    up_to_date: bool
    note: str | None = None  # why commits could not be compared, when they could not
    behind: list[Commit] = field(default_factory=list)


class PromotionService:
    def promote(
        self,
        session: Session,
        user: User,
        *,
        app: str,
        to: Sequence[str] | None,
        cipher: Cipher,
        applier: ReleaseApplier,
        data_dir: Path,
        force: bool = False,
    ) -> tuple[Release, list[Promoted]]:
        """Release the upstream `app`'s live artifact in the apps `to` (default: every app
        of the next stage above it that has apps). Returns the upstream release promoted
        and each downstream app's outcome. PromotionRefused (nothing changed) when the
        upstream has no live release, or a downstream app pins another runtime or
        architecture, would get function names over Lambda's 64 characters or a config over
        its 4 KB, or has a build or release under way, or when the upstream is in no
        pipeline or `to` names an app that is not downstream of it; AppNotFound for a target
        that is not an app of the pipeline.

        Also refused when a downstream app runs commits the upstream lacks (it is behind, or
        the two diverged: a hotfix pushed to the downstream app's own remote): promoting
        would undo them, as a push that is not a fast-forward is refused ("fetch first").
        The ancestry is asked of git as `diff` asks it (`Diff.behind`, repositories under
        `data_dir`); when it cannot be known (no repository on this host holds both commits,
        or one side runs an upload with no commit) nothing is refused. `force` promotes
        anyway, and the release's description names the commits it undid."""
        upstream = app_service.get_for(session, user, app)
        pipeline = pipeline_service.of_app(session, upstream)
        if pipeline is None:
            raise PromotionRefused(
                f"'{app}' is in no pipeline: add it (`laambda pipelines:add {app} "
                "--stage STAGE -p PIPELINE`)"
            )
        targets = self._targets(session, pipeline, upstream, to)
        live, source = self._live(session, upstream)
        locked = [app_service.get_for(session, user, target, lock=True) for target in targets]
        artifact = Artifact(
            runtime=source.runtime or "",
            architecture=architecture_or_default(source.architecture),
            entries=list(source.procfile or {}),
        )
        undone: dict[int, list[Commit]] = {}
        for target in locked:
            self._check(session, target, artifact, cipher)
            behind = self._compare(session, pipeline, upstream, target, data_dir).behind
            if behind and not force:
                raise PromotionRefused(_would_undo(upstream, target, behind))
            undone[target.id] = behind
        outcomes = []
        for target in locked:
            description = _description(live.version, upstream, undone[target.id])
            unchanged = release_service.unchanged(session, target, source, cipher)
            if unchanged is not None:
                detail = f"nothing changed: v{unchanged.version} of {target.name} runs it already"
                outcomes.append(Promoted(target, None, detail))
                continue
            build = build_service.promoted(session, target, source, user=user)
            release = release_service.create(
                session,
                target,
                user=user,
                kind="deploy",
                description=description,
                build_id=build.id,
                config=release_service.config(session, target, cipher),
                cipher=cipher,
                applier=applier,
            )
            target.last_deployed_at = utcnow()
            audit.record(
                session,
                user,
                action="pipeline.promote",
                app=target.name,
                pipeline=pipeline.name,
                source=upstream.name,
                version=live.version,
                release=release.version,
                build=build.id,
                undone=[c.sha for c in undone[target.id]],
            )
            outcomes.append(Promoted(target, release, description))
        session.flush()
        return live, outcomes

    def diff(
        self,
        session: Session,
        user: User,
        name: str,
        *,
        upstream: str | None,
        downstream: str | None,
        data_dir: Path,
    ) -> Diff:
        """The commits `upstream` runs that `downstream` does not, and the other way round
        (defaults: the stage below the other, or the top two stages that have apps). Git is
        asked when one repository (the pipeline's, the upstream app's or the downstream
        app's, the first that holds both live commits) does, so the ancestry of the two
        commits decides ahead, behind or diverged; otherwise the upstream's builds newer than
        the one the downstream runs are listed."""
        pipeline = pipeline_service.get_for(session, user, name)
        up, down = self._pair(session, user, pipeline, upstream, downstream)
        return self._compare(session, pipeline, up, down, data_dir)

    def _compare(
        self, session: Session, pipeline: Pipeline, up: App, down: App, data_dir: Path
    ) -> Diff:
        """The Diff of two apps of `pipeline` (see `diff`)."""
        up_build = release_service.current_build(session, up)
        down_build = release_service.current_build(session, down)
        up_commit = up_build.commit if up_build else None
        down_commit = down_build.commit if down_build else None
        if up_build is None:
            note = f"{up.name} runs no build yet: nothing to promote"
            return Diff(up, down, None, down_commit, [], "builds", up_to_date=False, note=note)
        if down_build is not None and up_build.artifact_sha256 == down_build.artifact_sha256:
            return Diff(up, down, up_commit, down_commit, [], "builds", up_to_date=True)
        for row, build in ((up, up_build), (down, down_build)):
            if build is not None and build.commit is None:
                what = (
                    f"labelled {build.commit_label[:7]}, not verified"
                    if build.commit_label
                    else "with no commit"
                )
                note = f"{row.name} runs an upload {what}: cannot compare commits"
                return Diff(up, down, up_commit, down_commit, [], "builds", False, note=note)
        for repo in (
            pipeline_repository_path(data_dir, pipeline.name),
            repository_path(data_dir, up.name),
            repository_path(data_dir, down.name),
        ):
            commits = _git_log(repo, up_commit, down_commit)
            behind = _git_log(repo, down_commit, up_commit) if down_commit else []
            if commits is not None and behind is not None:
                same = not commits and not behind
                return Diff(up, down, up_commit, down_commit, commits, "git", same, None, behind)
        commits = self._from_builds(session, up, up_build, down_build)
        return Diff(up, down, up_commit, down_commit, commits, "builds", not commits)

    def _pair(
        self,
        session: Session,
        user: User,
        pipeline: Pipeline,
        upstream: str | None,
        downstream: str | None,
    ) -> tuple[App, App]:
        apps = [a for a in pipeline_service.apps(session, pipeline) if a.stage != Stage.REVIEW]
        by_name = {a.name: a for a in pipeline_service.apps(session, pipeline)}
        for given in (upstream, downstream):
            if given is not None and given not in by_name:
                pipeline_service.app_of(session, pipeline, given)  # AppNotFound
        populated = {Stage(a.stage) for a in apps if a.stage}

        up = by_name[upstream] if upstream else None
        down = by_name[downstream] if downstream else None
        if up is None and down is None:
            top = max(populated, key=lambda s: s.rank, default=None)
            down = self._only(apps, top, "in the last stage", "--to") if top else None
        if up is None and down is not None:
            earlier = previous_stage(Stage(down.stage or Stage.PRODUCTION), populated)
            if earlier is not None:
                up = self._only(apps, earlier, f"upstream of {down.name}", "-a")
        if down is None and up is not None:
            following = next_stage(Stage(up.stage or Stage.REVIEW), populated)
            if following is None:
                raise Conflict(
                    f"nothing downstream of {up.name}: it is in the last stage of pipeline "
                    f"'{pipeline.name}' ({up.stage})"
                )
            down = self._only(apps, following, f"downstream of {up.name}", "--to")
        if up is None or down is None or up.id == down.id:
            raise Conflict(
                f"pipeline '{pipeline.name}' has no two stages to compare: name them "
                "(`laambda pipelines:diff -a UPSTREAM --to DOWNSTREAM`)"
            )
        for row in (up, down):
            app_service.get_for(session, user, row.name)
        return up, down

    def _only(self, apps: Sequence[App], stage: Stage, where: str, option: str) -> App:
        """The one app of `stage`; Conflict naming them when there are several, so a diff is
        never quietly against one of the apps a promotion would deploy."""
        found = [a for a in apps if a.stage == stage]
        if len(found) > 1:
            names = ", ".join(a.name for a in found)
            raise Conflict(
                f"{len(found)} apps are {where} ({stage.value}: {names}); name the one to "
                f"compare with {option} APP"
            )
        return found[0]

    def _from_builds(
        self, session: Session, up: App, up_build: Build, down_build: Build | None
    ) -> list[Commit]:
        """The upstream's succeeded builds after the one whose artifact (or promoted source)
        the downstream runs, up to its live one; newest first, one per commit."""
        query = (
            select(Build)
            .where(Build.app_id == up.id, Build.status == BuildStatus.SUCCEEDED)
            .where(Build.id <= up_build.id)
            .order_by(Build.id.desc())
            .limit(DIFF_LIMIT)
        )
        commits: list[Commit] = []
        for build in session.scalars(query):
            if down_build is not None and (
                build.artifact_sha256 == down_build.artifact_sha256
                or build.id == down_build.promoted_from
            ):
                break
            if build.commit and all(c.sha != build.commit for c in commits):
                commits.append(Commit(build.commit, "", f"build {build.id}"))
        return commits

    def _targets(
        self, session: Session, pipeline: Pipeline, upstream: App, to: Sequence[str] | None
    ) -> list[str]:
        apps = pipeline_service.apps(session, pipeline)
        rank = Stage(upstream.stage or Stage.REVIEW).rank
        if to:
            by_name = {a.name: a for a in apps}
            for name in to:
                row = by_name.get(name) or pipeline_service.app_of(session, pipeline, name)
                if row.id == upstream.id or Stage(row.stage or Stage.REVIEW).rank <= rank:
                    raise PromotionRefused(
                        f"'{name}' ({row.stage}) is not downstream of '{upstream.name}' "
                        f"({upstream.stage}): promotion goes to a later stage"
                    )
            return sorted(set(to))
        populated = {Stage(a.stage) for a in apps if a.stage}
        stage = next_stage(Stage(upstream.stage or Stage.REVIEW), populated)
        if stage is None:
            raise PromotionRefused(
                f"'{upstream.name}' is in the last stage of pipeline '{pipeline.name}' "
                f"({upstream.stage}): there is nothing downstream to promote to"
            )
        return sorted(a.name for a in apps if a.stage == stage)

    def _live(self, session: Session, upstream: App) -> tuple[Release, Build]:
        live = release_service.current(session, upstream)
        if live is None:
            raise PromotionRefused(
                f"'{upstream.name}' has no live release to promote: push to it first"
            )
        if live.status != ReleaseStatus.SUCCEEDED:
            raise PromotionRefused(
                f"v{live.version} of '{upstream.name}' is {live.status}: promote once it is live"
            )
        source = session.get(Build, live.build_id) if live.build_id else None
        if source is None or not source.artifact_sha256 or not source.procfile:
            raise PromotionRefused(
                f"v{live.version} of '{upstream.name}' runs no build: push to it first"
            )
        return live, source

    def _check(self, session: Session, target: App, artifact: Artifact, cipher: Cipher) -> None:
        problem = promotion_problem(
            target.name, artifact, runtime=target.runtime, architecture=target.architecture
        )
        if problem is None:
            problem = size_problem(release_service.config(session, target, cipher))
        if problem is None:
            problem = self._busy(session, target)
        if problem is not None:
            raise PromotionRefused(f"cannot promote to '{target.name}': {problem}; nothing changed")

    def _busy(self, session: Session, app: App) -> str | None:
        build = session.scalar(
            select(Build.id)
            .where(Build.app_id == app.id, Build.status.not_in(BuildStatus.ENDED))
            .limit(1)
        )
        if build is not None:
            return f"its build {build} is under way; promote once it has ended"
        release = session.scalar(
            select(Release.version)
            .where(Release.app_id == app.id, Release.status.not_in(ReleaseStatus.ENDED))
            .limit(1)
        )
        if release is not None:
            return f"its release v{release} is being deployed; promote once it is live or failed"
        return None


def _shas(commits: Sequence[Commit], shown: int = 5) -> str:
    """'20a3178 (hotfix), 1b2c3d4 (…)', the first `shown` of `commits` and how many more."""
    named = ", ".join(f"{c.sha[:7]} ({c.subject[:50]})" for c in commits[:shown])
    more = len(commits) - shown
    return named + (f" and {more} more" if more > 0 else "")


def _would_undo(upstream: App, target: App, behind: Sequence[Commit]) -> str:
    """Why a promotion to `target` is refused: the commits it runs that `upstream` lacks."""
    count = f"{len(behind)} commit{'s' if len(behind) != 1 else ''}"
    branch = f"its branch {upstream.branch}" if upstream.branch else "it"
    return (
        f"cannot promote to '{target.name}': it runs {count} that {upstream.name} does not "
        f"contain: {_shas(behind)}; promoting would undo them. Merge them into "
        f"{upstream.name} (fetch, merge and push {branch}) and promote again, or promote "
        f"anyway with `laambda pipelines:promote -a {upstream.name} --force`; nothing changed"
    )


def _description(version: int, upstream: App, undone: Sequence[Commit]) -> str:
    """'Promote v4 of shop-staging', and with --force over commits the downstream ran that
    the upstream lacks, '…, undoing 20a3178 (hotfix)'."""
    description = f"Promote v{version} of {upstream.name}"
    return f"{description}, undoing {_shas(undone, 3)}" if undone else description


def _git_log(repo: Path, up: str | None, down: str | None) -> list[Commit] | None:
    """`git log DOWN..UP` in `repo` (all of UP's history when DOWN is None), newest first;
    None when the repository is missing or lacks one of the commits."""
    if up is None or not (repo / "HEAD").exists():
        return None
    if any(sha is not None and not _HEX.fullmatch(sha) for sha in (up, down)):
        return None  # not a git object name (an uploaded build's label): nothing to ask
    for sha in (up, down):
        if sha is not None and not holds(repo, sha):
            return None
    span = f"{down}..{up}" if down else up
    found = git(
        repo, "log", f"--max-count={DIFF_LIMIT}", "--format=%H%x09%an%x09%s", span,
        timeout=GIT_TIMEOUT,
    )  # fmt: skip
    if found is None:
        return None
    out = found.decode(errors="replace")
    commits = []
    for line in out.splitlines():
        sha, _, rest = line.partition("\t")
        author, _, subject = rest.partition("\t")
        commits.append(Commit(sha, author, subject))
    return commits


promotion_service = PromotionService()
