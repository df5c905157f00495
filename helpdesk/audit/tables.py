from piccolo.columns import JSON, Integer, Timestamptz, Varchar
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """Who changed what, written in the same transaction as the change itself."""

    actor_type = Varchar(length=20)  # agent, token, system
    actor_id = Integer(null=True)
    action = Varchar(length=60)
    object_type = Varchar(length=40)
    object_id = Integer(index=True)
    changes = JSON(default={})  # {field: [before, after]}
    created_at = Timestamptz()
