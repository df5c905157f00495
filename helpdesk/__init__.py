"""helpdesk: an open-source customer-service helpdesk CRM."""
