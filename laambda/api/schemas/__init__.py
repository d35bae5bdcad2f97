"""The API's request and answer shapes (pydantic): `AppCreate`, `AppRead`, ..."""
