# The Piccolo CLI looks for a top-level piccolo_conf module; the real one lives in the package.
from helpdesk.piccolo_conf import APP_REGISTRY, DB  # noqa: F401
