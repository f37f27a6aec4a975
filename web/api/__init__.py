"""Tsunagu's JSON API under /api/v1, for other municipal systems (a hotline's software, the resident register,
statistics): Camunda 7's REST shape where it fits, marshmallow schemas for every request and response, the
OpenAPI document generated from them, and API tokens instead of cookies, under exactly the pages' access
rules and audit. `base` holds the blueprint, the token check and paging; each resource has its module."""
