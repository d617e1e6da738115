use serde_json::Value;

fn spec() -> Value {
    let text = filmlog::openapi_json().unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = filmlog::openapi_json().unwrap_or_else(|e| panic!("{e}"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[test]
fn every_operation_is_fully_described() {
    let spec = spec();
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() >= 8, "{paths:?}");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in &paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let name = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} has no operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{name}: duplicate operationId {id}"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name} has no tag"
            );
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{name} has no responses"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name} has no success response"
            );
            for (status, res) in responses {
                // A shared response is a reference to components/responses.
                let res = match res["$ref"].as_str() {
                    Some(r) => {
                        let name = r.trim_start_matches("#/components/responses/");
                        &spec["components"]["responses"][name]
                    }
                    None => res,
                };
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        res["content"]["application/problem+json"]["schema"]["$ref"]
                            == "#/components/schemas/Problem",
                        "{name} {status} is not a Problem"
                    );
                }
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{name} needs auth but documents no 401"
                );
            }
            if path.starts_with("/api/v1") {
                assert!(
                    responses.contains_key("429"),
                    "{name} is rate limited but documents no 429"
                );
            }
            if path.starts_with("/api/v1") && method == "get" {
                assert!(
                    responses.contains_key("401"),
                    "{name} refuses a bad token but documents no 401"
                );
            }
            // (A password reset answers before any database work: its timing must not tell.)
            if path.starts_with("/api/v1")
                && method != "get"
                && path != "/api/v1/auth/password-reset"
                || path == "/health/ready"
            {
                assert!(
                    responses.contains_key("503"),
                    "{name} touches the database but documents no 503"
                );
            }
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
