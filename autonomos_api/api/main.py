"""The /api/v1 router: one sub-router per resource module under api/routes/."""

from fastapi import APIRouter

api_router = APIRouter()
