"""Merging the services' OpenAPI documents keeps two same-named, different components apart."""
from gateway.openapi_merge import merge


def _part(schema: dict, path: str) -> dict:
    return {"paths": {path: {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ActionOut"}}}}, "400": {"$ref": "#/components/responses/Error"}}}},
            "/internal/x": {"get": {}}},
            "components": {"schemas": {"ActionOut": schema}, "responses": {"Error": {"description": "Error body"}}}}


def test_a_name_taken_by_another_definition_is_renamed_and_its_refs_follow():
    doc = {"paths": {}, "components": {"schemas": {}, "responses": {}}}
    rule_action = {"type": "object", "properties": {"type": {"type": "string"}}}
    proposal = {"type": "object", "properties": {"id": {"type": "string"}, "actionType": {"type": "string"}}}
    merge(doc, _part(rule_action, "/rules"), "automations")
    merge(doc, _part(proposal, "/actions"), "pilotage")
    assert doc["components"]["schemas"] == {"ActionOut": rule_action, "pilotage.ActionOut": proposal}
    ok = lambda p: doc["paths"][p]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ok("/rules") == "#/components/schemas/ActionOut"
    assert ok("/actions") == "#/components/schemas/pilotage.ActionOut"
    # the shared Error response is the same everywhere: kept once, refs unchanged
    assert doc["components"]["responses"] == {"Error": {"description": "Error body"}}
    assert doc["paths"]["/actions"]["get"]["responses"]["400"] == {"$ref": "#/components/responses/Error"}
    assert "/internal/x" not in doc["paths"]
