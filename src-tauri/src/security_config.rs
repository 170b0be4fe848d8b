//! What the web view may do, checked against the files that decide it (`tauri.conf.json` and
//! `src-tauri/capabilities/`), so that a loosened CSP, a global `__TAURI__` or a plugin
//! permission handed to the page fails the tests instead of shipping. Message text is
//! untrusted; these settings are what stands between a rendering bug and code execution.

use std::collections::BTreeSet;

use serde_json::Value;

const CONFIG: &str = include_str!("../../tauri.conf.json");
const CAPABILITIES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src-tauri/capabilities");
const COMMANDS: &str = include_str!("commands.rs");

fn config() -> Value {
    serde_json::from_str(CONFIG).expect("tauri.conf.json is JSON")
}

/// Every capability file, by name.
fn capabilities() -> Vec<(String, Value)> {
    let mut files: Vec<(String, Value)> = std::fs::read_dir(CAPABILITIES_DIR)
        .expect("src-tauri/capabilities")
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
            (name, value)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The commands the shell registers: the names in `generate_handler![…]`.
fn registered_commands() -> BTreeSet<String> {
    let start = COMMANDS.find("generate_handler![").expect("commands.rs registers its commands with generate_handler!");
    let list = &COMMANDS[start + "generate_handler![".len()..];
    let list = &list[..list.find(']').expect("the end of generate_handler!")];
    list.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()
}

#[test]
fn the_page_gets_no_global_tauri_object_and_a_frozen_prototype() {
    let security = &config()["app"]["security"];
    assert_eq!(config()["app"]["withGlobalTauri"], Value::Bool(false), "window.__TAURI__ would hand every script in the page the whole API");
    assert_eq!(security["freezePrototype"], Value::Bool(true), "a frozen Object.prototype stops prototype pollution reaching the IPC");
    for dangerous in ["dangerousDisableAssetCspModification", "dangerousRemoteDomainIpcAccess", "dangerousUseHttpScheme"] {
        assert!(security.get(dangerous).is_none() && config()["app"].get(dangerous).is_none(), "{dangerous} must stay unset");
    }
    assert!(security.get("devCsp").is_none(), "no looser CSP in development either: what is tested is what ships");
}

#[test]
fn the_content_security_policy_allows_only_the_apps_own_code() {
    let csp = config()["app"]["security"]["csp"].as_object().cloned().expect("the CSP is set, directive by directive");
    let directive = |name: &str| csp.get(name).and_then(Value::as_str).unwrap_or_else(|| panic!("CSP directive {name} is set"));
    assert_eq!(directive("default-src"), "'self'");
    assert_eq!(directive("script-src"), "'self'", "no inline script, no eval, no other origin: an injected <script> or onerror= cannot run");
    for (name, value) in [("object-src", "'none'"), ("base-uri", "'none'"), ("form-action", "'none'"), ("frame-src", "'none'")] {
        assert_eq!(directive(name), value, "{name}");
    }
    let connect: BTreeSet<&str> = directive("connect-src").split_whitespace().collect();
    assert_eq!(connect, BTreeSet::from(["ipc:", "http://ipc.localhost"]), "the page talks to the shell only; the engine talks to the hub");
    for (name, value) in &csp {
        let value = value.as_str().unwrap_or_default();
        for loose in ["'unsafe-inline'", "'unsafe-eval'", "'wasm-unsafe-eval'", "*", "http:", "https:", "ws:", "wss:"] {
            assert!(!value.split_whitespace().any(|source| source == loose), "CSP {name} must not allow {loose}: {value}");
        }
    }
}

#[test]
fn the_window_may_call_only_rapports_own_commands_and_listen() {
    let commands = registered_commands();
    assert!(commands.len() > 30, "the handler list was read: {commands:?}");
    for (name, capability) in capabilities() {
        assert_eq!(capability["windows"], serde_json::json!(["main"]), "{name}: for the one window only");
        assert!(capability.get("remote").is_none(), "{name}: no remote page may reach the IPC");
        assert!(capability.get("webviews").is_none() && capability.get("platforms").is_none(), "{name}: one window, every platform alike");
        for permission in capability["permissions"].as_array().expect("a list of permissions") {
            let permission = permission.as_str().unwrap_or_else(|| panic!("{name}: no scoped plugin permission objects: {permission}"));
            match permission.strip_prefix("allow-") {
                Some(command) => assert!(
                    commands.contains(&command.replace('-', "_")),
                    "{name}: {permission} allows a command the shell does not register"
                ),
                // The opener, the file system, the shell, HTTP, the updater, the store: the
                // shell calls them itself, within its own checks (links::open takes http(s)
                // only, opening::open no programs), never the page.
                None => assert!(
                    ["core:event:allow-listen", "core:event:allow-unlisten"].contains(&permission),
                    "{name}: {permission} hands the page more than listening to the app's events"
                ),
            }
        }
    }
}
