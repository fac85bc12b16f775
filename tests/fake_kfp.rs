//! Self-tests of the fake KFP server (tests/support/fake_kfp.rs), driven with reqwest.

mod support;

use serde_json::{json, Value};
use support::fake_kfp::FakeKfp;

async fn call(fake: &FakeKfp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = http.request(m, format!("{}{}", fake.url(), path));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("the fake answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn healthz_answers() {
    let fake = FakeKfp::start();
    let (st, body) = call(&fake, "GET", "/apis/v2beta1/healthz", None).await;
    assert_eq!(st, 200);
    assert_eq!(body["tag_name"], "2.17.0");
    let _ = json!({});
}
