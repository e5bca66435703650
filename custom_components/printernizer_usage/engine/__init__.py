"""The collection engine: plain typed Python, usable and testable without Home Assistant.

Data flows one way: printer state -> `UsageEvent` -> local store -> weekly aggregate -> payload -> outbox.
The Home Assistant layer (the package above) only translates registry entries and state changes into
`UsageEvent`s and `FleetSnapshot`s and calls the `UsageEngine` facade.
"""
