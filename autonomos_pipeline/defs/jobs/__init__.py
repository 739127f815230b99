"""Jobs that run the whole pipeline of a tenant."""
