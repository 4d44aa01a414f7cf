"""markdown-it plugins, one per directive or feature: each registers one rule and one render function.

Per-document state travels in `env` (see `app.content.plugins.directive.DocumentEnv`).
"""
