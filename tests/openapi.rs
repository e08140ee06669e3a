//! Proves: `GET /api/v1/openapi.json` is an OpenAPI 3 document of exactly the API a node serves,
//! and its schemas describe the JSON the node answers.
//!
//! Every documented operation is served: each is called with placeholder path parameters and an
//! empty JSON body, and none gets the answer of a path nobody serves or 405. A path nobody serves
//! gets the `/api/v1` catch-all's 404 "no such API path", or, within a resource's scope
//! (`/api/v1/projects/...`) and outside `/api/v1`, actix's 404 without a body; a handler's 404
//! names what it did not find.
//!
//! Every served route is documented: a handler is mounted by the very call that collects its
//! `#[utoipa::path]` operation (utoipa-actix-web, see src/http/openapi.rs), and that module's
//! unit test refuses any other way of mounting a route in src/http/. `API` below is the API as it
//! is meant to be: a route added, removed or moved without it being updated fails here as well.

mod common;

use common::{Node, Services};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};

/// Every operation the node serves.
const API: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/cluster"),
    ("post", "/api/v1/cluster/nodes"),
    ("delete", "/api/v1/cluster/nodes/{id}"),
    ("get", "/api/v1/datasources"),
    ("post", "/api/v1/datasources"),
    ("get", "/api/v1/datasources/{name}"),
    ("put", "/api/v1/datasources/{name}"),
    ("delete", "/api/v1/datasources/{name}"),
    ("post", "/api/v1/datasources/{name}/check"),
    ("post", "/api/v1/datasources/{name}/tables"),
    ("get", "/api/v1/projects"),
    ("post", "/api/v1/projects"),
    ("get", "/api/v1/projects/{name}"),
    ("delete", "/api/v1/projects/{name}"),
    ("post", "/api/v1/projects/{name}/{action}"),
    ("get", "/api/v1/projects/{name}/objects"),
    ("get", "/api/v1/projects/{name}/metrics"),
    ("post", "/api/v1/projects/{name}/verify"),
    ("get", "/api/v1/projects/{name}/verify"),
    ("post", "/api/v1/projects/{name}/snapshot"),
    ("post", "/api/v1/projects/{name}/connectors/{id}/reset"),
    ("post", "/api/v1/projects/{name}/connectors/{id}/move"),
    ("get", "/api/v1/projects/{name}/connectors/{id}/live"),
    ("post", "/api/v1/projects/{name}/store/begin"),
    ("get", "/api/v1/projects/{name}/store/records"),
    ("get", "/api/v1/projects/{name}/store/schemas/{id}"),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The node's address, without `/api/v1`.
fn base(node: &Node) -> String {
    node.url("").trim_end_matches("/api/v1").to_string()
}

fn fetch_document(node: &Node, token: &str) -> Value {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/openapi.json", base(node)))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    resp.json().unwrap()
}

/// Every (method, path) the document has, with its operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// Every `$ref` in `v`.
fn refs<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_and_lists_every_route() {
    let node = Node::start_with_args("openapi-doc", &["--viewer-token", "look-only"]);
    // The viewer token may read it, as any other GET.
    let doc = fetch_document(&node, "look-only");
    assert_eq!(doc, fetch_document(&node, &node.token), "one document for both tokens");
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "{version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string(), "{}", doc["info"]);
    let schemas = doc["components"]["schemas"].as_object().expect("components.schemas");
    assert!(!schemas.is_empty());
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["type"], "http");
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // It reads as an OpenAPI document (utoipa's model of one).
    serde_json::from_value::<utoipa::openapi::OpenApi>(doc.clone()).expect("an OpenAPI document");

    // Exactly the API.
    let ops = operations(&doc);
    let documented: BTreeSet<(String, String)> = ops.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    let expected: BTreeSet<(String, String)> =
        API.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented.len(), ops.len());
    let missing: Vec<_> = expected.difference(&documented).collect();
    let unexpected: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "not documented: {missing:?}; not in API: {unexpected:?}"
    );

    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{} references", all.len());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("reference {r}"));
        assert!(schemas.contains_key(name), "{r} is not in components.schemas");
    }

    let mut ids = HashSet::new();
    for (method, path, op) in &ops {
        let at = format!("{} {path}", method.to_uppercase());
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}: operationId"));
        assert!(ids.insert(id.to_string()), "{at}: operationId {id} twice");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty() && !s.contains('\n')), "{at}: summary");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{at}: responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{at}: no success response");
        // Errors are `{code, message}`.
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with(['4', '5'])) {
            let content = response["content"].as_object().unwrap_or_else(|| panic!("{at} {status}: content"));
            if let Some(json) = content.get("application/json") {
                assert_eq!(json["schema"]["$ref"], "#/components/schemas/ErrorBody", "{at} {status}");
            }
        }
        // Each `{param}` of the path is a documented path parameter.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for name in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            assert!(
                params.iter().any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                "{at}: path parameter {name}"
            );
        }
        if ["post", "put"].contains(&method.as_str())
            && !path.ends_with("/check")
            && !path.ends_with("}/{action}")
        {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(body.is_object(), "{at}: request body schema");
        }
        let security = op["security"].as_array();
        if path.starts_with("/api/v1/") {
            assert_eq!(security, Some(&vec![json!({"bearer": []})]), "{at}: security");
            assert!(responses.contains_key("401"), "{at}: 401");
            let readable = method == "get" && !path.contains("/store/");
            assert_eq!(responses.contains_key("403"), !readable, "{at}: 403 for the viewer token");
        }
        if path.contains("/store/") {
            assert_eq!(op["x-internal"], true, "{at}: x-internal");
            assert!(op["description"].as_str().unwrap_or_default().starts_with("Internal"), "{at}");
            assert_eq!(op["tags"], json!(["internal"]), "{at}");
        }
    }
    assert_eq!(doc["paths"]["/healthz"]["get"].get("security"), None, "health needs no token");

    // Query parameters.
    let param = |method: &str, path: &str, name: &str| -> Value {
        let op = &doc["paths"][path][method];
        let params = op["parameters"].as_array().unwrap_or_else(|| panic!("{path}: parameters"));
        params.iter().find(|p| p["name"] == name).cloned().unwrap_or_else(|| panic!("{path}: ?{name}"))
    };
    assert_eq!(param("post", "/api/v1/datasources", "verify")["in"], "query");
    assert_eq!(param("put", "/api/v1/datasources/{name}", "verify")["schema"]["type"], "boolean");
    assert_eq!(param("get", "/api/v1/projects/{name}/metrics", "since")["in"], "query");
    assert_eq!(param("get", "/api/v1/projects/{name}/metrics", "local")["in"], "query");
    assert_eq!(param("get", "/api/v1/projects/{name}/store/records", "from")["required"], true);

    // Schemas the console and scripts rely on.
    let project = &schemas["ProjectView"]["properties"];
    assert!(project["connectors"].is_object() && project["components"].is_object(), "{project}");
    let required = schemas["NewProject"]["required"].as_array().expect("NewProject.required");
    assert!(required.contains(&json!("name")), "{required:?}");
    let create = &doc["paths"]["/api/v1/projects"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewProject"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ProjectView"
    );
}

#[test]
fn every_documented_operation_is_served() {
    let node = Node::start("openapi-served");
    let doc = fetch_document(&node, &node.token);
    let client = reqwest::blocking::Client::new();
    let base = base(&node);
    let ops = operations(&doc);
    assert!(ops.len() >= API.len(), "{} operations", ops.len());
    for (method, template, _) in ops {
        // Placeholder path parameters; no query string.
        let path: Vec<String> = template
            .split('/')
            .map(|s| if s.starts_with('{') && s.ends_with('}') { "x".into() } else { s.into() })
            .collect();
        let path = path.join("/");
        let url = format!("{base}{path}");
        let req = match method.as_str() {
            "get" => client.get(&url),
            "delete" => client.delete(&url),
            "post" => client.post(&url).json(&json!({})),
            "put" => client.put(&url).json(&json!({})),
            other => panic!("{other} {template}: a method the API does not use"),
        };
        let resp = req.bearer_auth(&node.token).send().unwrap();
        let (status, body) = (resp.status().as_u16(), resp.text().unwrap());
        let at = format!("{} {path} (documented as {template})", method.to_uppercase());
        assert_ne!(status, 401, "{at}: {body}");
        assert!(served(status, &body), "{at}: not served: {status} {body:?}");
    }
    // The probe knows a path nobody serves when it sees one.
    let probe = |method: reqwest::Method, path: &str| {
        let resp = client.request(method, format!("{base}{path}")).bearer_auth(&node.token).send().unwrap();
        let (status, body) = (resp.status().as_u16(), resp.text().unwrap());
        assert!(!served(status, &body), "{path}: {status} {body}");
    };
    probe(reqwest::Method::GET, "/api/v1/nothing-here");
    probe(reqwest::Method::GET, "/api/v1/projects/x/nothing-here");
    probe(reqwest::Method::PUT, "/api/v1/projects");
    probe(reqwest::Method::POST, "/api/v1/cluster");
    probe(reqwest::Method::GET, "/nothing-here");
}

/// A handler answered (a 404 from a handler names what it did not find).
fn served(status: u16, body: &str) -> bool {
    let error: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match status {
        405 => false,
        404 => error["code"] == "not_found" && error["message"] != "no such API path",
        _ => true,
    }
}

/// Checks `value` against `schema`; returns what does not match, at `at`.
fn mismatch(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return mismatch(doc, &doc["components"]["schemas"][name], value, at);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let errors: Vec<String> = options.iter().filter_map(|s| mismatch(doc, s, value, at)).collect();
        return (errors.len() == options.len()).then(|| format!("{at}: none of oneOf: {errors:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = |t: &&str| match *t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(type_ok) {
        return Some(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Some(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema["properties"].as_object() {
                for key in map.keys() {
                    if !properties.contains_key(key) {
                        return Some(format!("{at}: {key:?} is not in the schema"));
                    }
                }
                for (key, property) in properties {
                    if let Some(v) = map.get(key) {
                        if let Some(e) = mismatch(doc, property, v, &format!("{at}.{key}")) {
                            return Some(e);
                        }
                    }
                }
            }
            for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    return Some(format!("{at}: required {key:?} is missing"));
                }
            }
            if schema["additionalProperties"].is_object() {
                for (key, v) in map {
                    if let Some(e) = mismatch(doc, &schema["additionalProperties"], v, &format!("{at}.{key}"))
                    {
                        return Some(e);
                    }
                }
            }
            None
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| mismatch(doc, &schema["items"], v, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// The schema of `method path`'s answer with `status`.
fn answer_schema<'d>(doc: &'d Value, method: &str, path: &str, status: u16) -> &'d Value {
    let schema =
        &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} {status}: no JSON schema");
    schema
}

#[track_caller]
fn conforms(doc: &Value, (method, path): (&str, &str), (status, body): (u16, Value), expected: u16) {
    assert_eq!(status, expected, "{method} {path}: {body}");
    if let Some(e) = mismatch(doc, answer_schema(doc, method, path, status), &body, "$") {
        panic!("{method} {path} {status} does not match its schema: {e}\n{body:#}");
    }
}

#[test]
fn the_schemas_describe_the_json_the_node_answers() {
    let services = Services::from_env();
    let node = Node::start("openapi-json");
    let doc = fetch_document(&node, &node.token);

    let cluster = node.get("/cluster");
    conforms(&doc, ("get", "/api/v1/cluster"), cluster, 200);

    let kafka = node.post("/datasources?verify=false", services.kafka_destination("k"));
    conforms(&doc, ("post", "/api/v1/datasources"), kafka, 201);
    let maria = node.post("/datasources?verify=false", services.mysql_source("m"));
    conforms(&doc, ("post", "/api/v1/datasources"), maria, 201);
    conforms(&doc, ("get", "/api/v1/datasources"), node.get("/datasources"), 200);
    conforms(&doc, ("get", "/api/v1/datasources/{name}"), node.get("/datasources/m"), 200);
    conforms(
        &doc,
        ("post", "/api/v1/datasources/{name}/check"),
        node.post("/datasources/k/check", json!({})),
        200,
    );

    // Partition `table`: created without asking the source for primary keys.
    let project = json!({
        "name": "p", "source": "m", "destination": "k", "partition": "table",
        "objects": [{"database": "openapi_none", "tables": ["t*"], "exclude": ["tmp"]}],
        "start": {"file": "bin.000001", "pos": 4}, "options": {"server_id": 4242},
    });
    conforms(&doc, ("post", "/api/v1/projects"), node.post("/projects", project), 201);
    conforms(&doc, ("get", "/api/v1/projects"), node.get("/projects"), 200);
    conforms(&doc, ("get", "/api/v1/projects/{name}"), node.get("/projects/p"), 200);
    conforms(&doc, ("get", "/api/v1/projects/{name}/objects"), node.get("/projects/p/objects"), 200);
    conforms(&doc, ("get", "/api/v1/projects/{name}/metrics"), node.get("/projects/p/metrics?since=0"), 200);

    // Errors.
    conforms(&doc, ("get", "/api/v1/projects/{name}"), node.get("/projects/nope"), 404);
    conforms(&doc, ("post", "/api/v1/projects"), node.post("/projects", json!({"name": "q"})), 400);
    conforms(&doc, ("delete", "/api/v1/datasources/{name}"), node.delete("/datasources/k"), 409);
    assert_eq!(node.delete("/projects/p").0, 204);
}
