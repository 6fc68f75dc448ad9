"""The use cases. Services are named after what a member does; they take ids and plain
values, check policy, write, record an event, and commit. Web, email and CLI call them."""
