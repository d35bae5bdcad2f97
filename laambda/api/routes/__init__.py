"""The API's routes, one module per noun: parse the request, call a service, present rows."""
