"""The Docker builder's folders as engine volumes, for a worker that shares no paths with its
engine (LAAMBDA_BUILD_MOUNTS=volumes).

A worker in a container (docker-compose.yml) reaches its engine through a mounted socket, and
the engine resolves a bind mount's path on its own host, where the worker's folders are not.
So every folder a build container sees is an engine volume instead:
- the build's own volume (labelled BUILD_LABEL, removed when the build ends, however it ends),
  mounted at /laambda: filled through the Docker API's archive upload into the created, not
  yet started, container (put_archive: the spec folder or npm project, the install plan, the
  CA bundle, an empty `out` folder), and read back from the exited container the same way
  (get_archive) before the container is removed;
- the download cache: one volume per cache key (labelled CACHE_LABEL), kept, so a rebuild
  downloads nothing, at /laambda/cache;
- the egress proxy's socket, in LAAMBDA_BUILD_SOCKET_VOLUME, which the worker has mounted at
  LAAMBDA_BUILD_SOCKET_DIR and every build container mounts read-only at /run/laambda. Each
  build's socket is in a folder named by 128 random bits, and the volume's top folder is kept
  write-and-search only for its owner (0o311): a build container, running as the worker's user
  without capabilities (so not even uid 0 may read a folder its mode forbids), can use its own
  socket but can neither list the others nor change the mode back.
What is read back was written by the build's scripts, which are not trusted: each entry is held
to the rules of a pushed source tarball (source_check.py: no absolute path, no `..`, no device
or FIFO, hard links only to its own files, sizes within LAAMBDA_MAX_UNPACKED_BYTES), files are
written by this module, and symlinks leaving the folder are dropped with a line to the log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import TracebackType

import docker
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from docker.types import Mount

from laambda.building.builders.base import Log
from laambda.building.egress import EgressPolicy, egress_proxy
from laambda.building.sandbox import CA_BUNDLE, SOCKET_INSIDE
from laambda.building.source_check import (
    MB,
    SourceLimits,
    SourceRefused,
    check_members,
    human_size,
    link_inside,
    relative,
)
from laambda.config import Settings
from laambda.errors import BuildFailed

# one build's volume (any left over may be removed); its value names the build's cache volume
BUILD_LABEL = "laambda.build-folders"
CACHE_LABEL = "laambda.download-cache"  # a download cache volume; its value is the cache key
# when a build's volume was made (Unix seconds): a worker killed mid-build leaves its volume,
# and remove_leftovers() takes it once no build can still be using it
MADE_LABEL = "laambda.made-at"
TOP = "/laambda"
SOCKETS_INSIDE = str(PurePosixPath(SOCKET_INSIDE).parent)
SOCKETS_MODE = 0o311  # the socket volume's top folder: no one lists it, its owner adds to it
_ARCHIVE_OVERHEAD = 2  # an archive may be this many times its files' bytes (tar's headers)


def remove_leftovers(client: docker.DockerClient, *, older_than: float) -> list[str]:
    """Remove the build volumes (BUILD_LABEL) made over `older_than` seconds ago that no
    container uses: those of builds whose worker was killed before it could remove them (a
    build ends, or is stopped, within LAAMBDA_BUILD_TIMEOUT). The engine refuses to remove a
    volume a container still mounts, and that one stays. Returns the names removed; raises
    docker's DockerException when the engine cannot list its volumes."""
    removed = []
    now = time.time()
    for volume in client.volumes.list(filters={"label": BUILD_LABEL}):
        labels = volume.attrs.get("Labels") or {}
        try:
            made = float(labels.get(MADE_LABEL, "0"))
        except ValueError:
            made = 0.0
        if now - made <= older_than:
            continue
        try:
            volume.remove()
        except DockerException:
            continue  # in use, or removed meanwhile by another worker's sweep
        removed.append(str(volume.name))
    return removed


class BuildFolders:
    """One build's folders in engine volumes; a context manager that makes the build's volume
    on entry and removes it on exit.

    `inputs` names what the container finds under /laambda (name -> a file or folder of the
    worker), besides an empty `out`, the CA bundle as `ca.crt` and the download cache volume
    (`cache_name`, made if missing) as `cache`; `outputs` names the folders of /laambda
    read back once the container exited successfully (name -> a new folder of the worker).
    Raises BuildFailed when the engine refuses a volume or an archive, or the output breaks a
    rule (see the module's docstring).
    """

    def __init__(
        self,
        client: docker.DockerClient,
        settings: Settings,
        *,
        cache_name: str,
        cache_key: str,
        inputs: Mapping[str, Path],
        outputs: Mapping[str, Path],
        workdir: Path,
        log: Log,
    ) -> None:
        self.client = client
        self.settings = settings
        self.cache_name = cache_name
        self.cache_key = cache_key
        self.inputs = dict(inputs)
        self.outputs = dict(outputs)
        self.workdir = workdir
        self.log = log
        self.volume = f"laambda-build-{secrets.token_hex(8)}"
        self.mounts: list[Mount] = []

    def __enter__(self) -> BuildFolders:
        try:
            self._cache_volume()
            labels = {BUILD_LABEL: self.cache_name, MADE_LABEL: str(int(time.time()))}
            self.client.volumes.create(name=self.volume, labels=labels)
        except DockerException as exc:
            raise BuildFailed(f"the engine could not make the build's volumes: {exc}") from None
        self.mounts = [
            Mount(TOP, self.volume, type="volume"),
            Mount(f"{TOP}/cache", self.cache_name, type="volume"),
        ]
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            self.client.volumes.get(self.volume).remove(force=True)
        except DockerException:
            pass  # labelled BUILD_LABEL: an operator's `volume prune` finds it

    def _cache_volume(self) -> None:
        try:
            self.client.volumes.get(self.cache_name)
        except NotFound:
            try:
                self.client.volumes.create(
                    name=self.cache_name, labels={CACHE_LABEL: self.cache_key}
                )
            except DockerException:
                self.client.volumes.get(self.cache_name)  # made meanwhile by another build

    @contextmanager
    def egress(self, policy: EgressPolicy) -> Iterator[str]:
        """Serve the egress proxy for the block on a socket in the shared socket volume, whose
        mount is added to `mounts`; yields the socket's path as the container sees it.

        Raises BuildFailed when the volume is not in the engine or not mounted at
        LAAMBDA_BUILD_SOCKET_DIR in this worker.
        """
        root = self.settings.build_socket_dir
        name = self.settings.build_socket_volume
        try:
            self.client.volumes.get(name)
        except DockerException:
            raise BuildFailed(
                f"the engine has no volume {name} (LAAMBDA_BUILD_SOCKET_VOLUME) for the build's "
                "egress proxy: make it and mount it in the worker at LAAMBDA_BUILD_SOCKET_DIR"
            ) from None
        try:
            root.chmod(SOCKETS_MODE)
            folder = root / secrets.token_urlsafe(16)
            folder.mkdir(mode=0o711)
        except OSError as exc:
            raise BuildFailed(
                f"LAAMBDA_BUILD_SOCKET_DIR ({root}) cannot hold the build's egress socket "
                f"({exc.strerror}): mount the volume {name} there, owned by the worker's user"
            ) from None
        try:
            with egress_proxy(policy, log=self.log, folder=folder) as socket:
                self.mounts.append(
                    Mount(SOCKETS_INSIDE, name, type="volume", read_only=True, no_copy=True)
                )
                yield f"{SOCKETS_INSIDE}/{socket.relative_to(root).as_posix()}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def fill(self, container: Container) -> None:
        """Put the inputs into the build's volume through the created `container`, owned by the
        user the container runs as (this process's)."""
        tarball = self.workdir / "to-engine.tar"

        def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
            info.uid, info.gid, info.uname, info.gname = os.getuid(), os.getgid(), "", ""
            return info

        with tarfile.open(tarball, "w", dereference=True) as archive:
            for folder in ("out", "cache"):
                info = tarfile.TarInfo(folder)
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(owned(info))
            if CA_BUNDLE.is_file():
                archive.add(CA_BUNDLE, arcname="ca.crt", filter=owned)
            for name, path in self.inputs.items():
                archive.add(path, arcname=name, filter=owned)
        # without the zeros tarfile pads its last record with: podman's copier stops reading at
        # the end-of-archive blocks, and bytes still coming then fail the upload with "broken
        # pipe" (https://github.com/containers/buildah/issues/6573)
        os.truncate(tarball, archive.offset)
        try:
            with open(tarball, "rb") as data:
                if not container.put_archive(TOP, data):
                    raise BuildFailed("the engine refused the build's files")
        except DockerException as exc:
            raise BuildFailed(f"the engine did not take the build's files: {exc}") from None
        finally:
            tarball.unlink()

    def collect(self, container: Container) -> None:
        """Read each output folder back from the exited `container` into its worker folder."""
        limit = self.settings.max_unpacked_bytes
        tarball = self.workdir / "from-engine.tar"
        for name, dest in self.outputs.items():
            try:
                stream, _ = container.get_archive(f"{TOP}/{name}")
                size = 0
                with open(tarball, "wb") as data:
                    for chunk in stream:
                        size += len(chunk)
                        if size > limit * _ARCHIVE_OVERHEAD:
                            raise _too_large(limit)
                        data.write(chunk)
                extract_output(tarball, dest, max_bytes=limit, log=self.log)
            except DockerException as exc:
                raise BuildFailed(f"the build's output could not be read back: {exc}") from None
            finally:
                tarball.unlink(missing_ok=True)


def extract_output(tarball: Path, dest: Path, *, max_bytes: int, log: Log) -> None:
    """Write the one folder an engine's archive holds (as get_archive gives a folder: its name,
    then what is in it) into the new folder `dest`, without trusting it.

    Every entry is checked by source_check.check_members before anything is written (files at
    most `max_bytes` in all); files and folders are made by this function (regular modes,
    executable or not, owned by this process), hard links become copies, and symlinks are made
    last, only those whose target stays inside `dest` (by its words, then resolved with every
    link in place); the others are dropped with a line to `log`. Raises BuildFailed naming the
    first entry that breaks a rule.
    """
    try:
        with tarfile.open(tarball, mode="r:") as archive:
            if sum(member.size for member in archive if member.isfile()) > max_bytes:
                raise _too_large(max_bytes)
        with tarfile.open(tarball, mode="r:") as archive:
            checked = check_members(archive, SourceLimits(max_unpacked_bytes=max_bytes))
            dest.mkdir(parents=True, exist_ok=True)
            root = dest.resolve()
            top = checked[0][1] if checked else ""
            links: list[tuple[str, str]] = []
            for member, name in checked[1:]:
                if not name.startswith(top + "/"):
                    raise SourceRefused(f"the archive holds '{name}' outside its folder '{top}'")
                inner = name[len(top) + 1 :]
                target = root / inner
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    _write(archive, member, target)
                elif member.islnk():  # to a file written before (check_members)
                    source = root / relative(member.linkname).removeprefix(top + "/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, target)
                    target.chmod(source.stat().st_mode & 0o777)
                elif member.issym():
                    links.append((inner, member.linkname))
    except SourceRefused as exc:
        raise BuildFailed(f"the build's output was refused: {exc.message}") from None
    except (tarfile.TarError, OSError) as exc:
        raise BuildFailed(f"the build's output could not be read back: {exc}") from None
    made = [(name, linkname) for name, linkname in links if _link(root, name, linkname, log)]
    for name, linkname in made:
        path = root / name
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            resolved = None
        if resolved is None or (resolved != root and root not in resolved.parents):
            path.unlink()
            log(
                f"       dropped symlink {name} -> {linkname}: it leads outside the build's "
                "output, or to nothing"
            )


def _too_large(limit: int) -> BuildFailed:
    return BuildFailed(
        f"the installed dependencies are over {human_size(limit)}, the limit "
        "(LAAMBDA_MAX_UNPACKED_BYTES); Lambda takes at most 250 MB unzipped: install fewer"
    )


def _write(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = archive.extractfile(member)
    if source is None:
        raise SourceRefused(f"the archive entry '{member.name}' cannot be read")
    target.parent.mkdir(parents=True, exist_ok=True)
    with source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, length=MB)
    target.chmod(0o755 if member.mode & 0o111 else 0o644)


def _link(root: Path, name: str, target: str, log: Log) -> bool:
    """Make the symlink `name` -> `target` under `root` if its words keep it inside."""
    if not link_inside(name, target):
        log(f"       dropped symlink {name} -> {target}: it leads outside the build's output")
        return False
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return True
