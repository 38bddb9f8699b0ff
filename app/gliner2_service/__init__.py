"""GLiNER2 entity-extraction service (FastAPI on port 8012, seed 000).

Run: ``uvicorn app.gliner2_service.main:app --loop asyncio --port 8012``.
"""
