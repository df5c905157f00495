"""HTTP plumbing shared by every domain's controllers: errors, authentication, dependencies."""
