"""Unit tests never reach a real model: pydantic-ai raises if one is asked."""

import pydantic_ai.models

pydantic_ai.models.ALLOW_MODEL_REQUESTS = False
