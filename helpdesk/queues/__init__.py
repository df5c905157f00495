"""An agent's work queues beyond plain ticket filters: saved filters per agent, the SLA clock
each listed ticket runs against next, and the tickets about to breach (which needs SLA clocks,
so it cannot live in ``tickets``)."""
