// The Jobs module; see docs/architecture.md.
