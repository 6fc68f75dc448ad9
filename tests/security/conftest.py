from tests.stewardship.conftest import rich_group  # noqa: F401  (a group with something in every table)
