"""The /api/v1 router: one sub-router per resource module under api/routes/ (dcl/ and aam/ group by area)."""

from fastapi import APIRouter

from autonomos_api.api.routes import aoa, auth, events, users
from autonomos_api.api.routes.aam import connections, drift_events, mappings, quarantine, repairs
from autonomos_api.api.routes.dcl import graph, telemetry, views

dcl_router = APIRouter(prefix="/dcl")
for module in (views, graph, telemetry):
    dcl_router.include_router(module.router)

aam_router = APIRouter(prefix="/aam")
for module in (connections, drift_events, repairs, mappings, quarantine):
    aam_router.include_router(module.router)

api_router = APIRouter()
api_router.include_router(auth.router)
api_router.include_router(users.router)
api_router.include_router(dcl_router)
api_router.include_router(aam_router)
api_router.include_router(events.router)
api_router.include_router(aoa.router)
