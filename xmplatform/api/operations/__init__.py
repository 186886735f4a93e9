"""What the API views do with a request body, by resource: validate per item, apply the key's
scope, and call the domain services (people_upsert, events_record_bulk, invitation_request,
response_answer). Nothing here writes except through those services.
"""
