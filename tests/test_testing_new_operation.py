"""A new operation in the description is answered with no fake code: a description with an extra,
made-up operation (and a made-up project kind) is routed, checked, answered and run like the rest."""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterator

import pytest

from magic_hour.testing import FakeMagicHour, _state
from magic_hour.testing._spec import ApiSpec, load_spec

ERRORS = {"400": {"description": "Invalid Request"}, "422": {"description": "Unprocessable Entity"}}


def _document() -> Dict[str, Any]:
    doc: Dict[str, Any] = copy.deepcopy(dict(load_spec().document))
    doc["paths"]["/v1/hologram"] = {
        "post": {
            "x-magic-hour": {"resource": "hologram", "method": "create", "creates": "hologram"},
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["depth"],
                            "properties": {
                                "depth": {"type": "integer", "minimum": 1, "maximum": 9, "example": 3},
                                "mode": {"type": "string", "enum": ["fast", "fine"], "example": "fine"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Success",
                    "content": {
                        "application/json": {"example": {"id": "cuid-example", "credits_charged": 7}}
                    },
                },
                **ERRORS,
            },
        }
    }
    doc["paths"]["/v1/hologram-projects/{id}"] = {
        "get": {
            "x-magic-hour": {"resource": "hologram_projects", "method": "get"},
            "responses": {
                "200": {
                    "description": "Success",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "status": {"type": "string", "enum": ["queued", "complete", "error"]},
                                    "credits_charged": {"type": "integer"},
                                    "downloads": {"type": "array", "items": {"type": "object"}},
                                },
                            }
                        }
                    },
                },
                "404": {"description": "Not Found"},
            },
        }
    }
    doc["x-magic-hour-projects"]["hologram"] = {
        "resource": "hologram_projects",
        "get": "GET /v1/hologram-projects/{id}",
    }
    return doc


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMagicHour]:
    spec = ApiSpec(_document())
    monkeypatch.setattr(_state, "load_spec", lambda: spec)
    with FakeMagicHour() as made:
        yield made


def test_a_new_operation_is_answered_from_the_description(fake: FakeMagicHour) -> None:
    auth = {"Authorization": f"Bearer {fake.token}"}
    with fake.httpx_client(base_url=fake.base_url, headers=auth) as http:
        created = http.post("/v1/hologram", json={"depth": 3})
        assert created.status_code == 200
        assert created.json()["credits_charged"] == 7 and created.json()["id"] != "cuid-example"
        project = http.get(f"/v1/hologram-projects/{created.json()['id']}").json()
        assert (project["status"], project["credits_charged"]) == ("complete", 7)
        assert http.get(project["downloads"][0]["url"], headers={"Authorization": ""}).status_code == 200
        for body, message in [
            ({}, "Invalid request body: depth is required"),
            ({"depth": 10}, "Invalid request body: depth must be at most 9, got 10"),
            (
                {"depth": 2, "mode": "slow"},
                'Invalid request body: mode must be one of fast, fine, got "slow"',
            ),
            (
                {"depth": 2, "color": "red"},
                "Invalid request body: color is not allowed (known fields: depth, mode)",
            ),
        ]:
            refused = http.post("/v1/hologram", json=body)
            assert (refused.status_code, refused.json()) == (422, {"message": message})
    fake.fail_next("hologram.create", 503)  # its route is known to the knobs
    with fake.httpx_client() as http:
        assert http.post(fake.base_url + "/v1/hologram", json={"depth": 1}, headers=auth).status_code == 503
    assert [r.route for r in fake.requests][:2] == ["hologram.create", "hologram_projects.get"]
    assert fake.projects[0].kind == "hologram"
