//! `templates list|add|rm`, and the filling of one for `send --template`.

use anyhow::anyhow;
use rapport_client::{Engine, EngineError};
use rapport_protocol::Template;

use crate::failure::Failure;
use crate::output::Output;

fn line(t: &Template) -> String {
    format!("{}  {}: {}", t.id, t.name, t.body)
}

/// Lists the user's templates, by name.
pub async fn list(engine: &Engine, out: &Output) -> Result<(), Failure> {
    let templates = engine.templates().await.map_err(Failure::engine)?;
    if templates.is_empty() && !out.json() {
        out.emit(&(), || "no templates (add one with: templates add NAME TEXT...)".into());
    }
    for t in &templates {
        out.emit(t, || line(t));
    }
    Ok(())
}

/// Saves a template.
pub async fn add(engine: &Engine, out: &Output, name: &str, body: &str) -> Result<(), Failure> {
    let saved = engine.add_template(name, body).await.map_err(Failure::engine)?;
    out.emit(&saved, || format!("saved template {}", line(&saved)));
    Ok(())
}

/// Removes a template, by name or id.
pub async fn rm(engine: &Engine, out: &Output, name_or_id: &str) -> Result<(), Failure> {
    let template = find(engine, name_or_id).await?;
    engine.remove_template(&template.id).await.map_err(Failure::engine)?;
    out.emit(&serde_json::json!({"removed": template.id, "name": template.name}), || format!("removed template {} ({})", template.name, template.id));
    Ok(())
}

/// The template's body filled for `conversation` (an unfillable variable is refused, naming it).
pub async fn filled(engine: &Engine, name_or_id: &str, conversation: &str) -> Result<String, Failure> {
    let template = find(engine, name_or_id).await?;
    engine.fill_template(conversation, &template.body).await.map_err(|e| match e {
        EngineError::NotFound(_) => Failure { exit: crate::failure::ERROR, code: e.code().to_string(), error: anyhow!("conversation {conversation} is not cached (run sync first); nothing was sent") },
        EngineError::Invalid { .. } => {
            let code = e.code().to_string();
            Failure { exit: crate::failure::ERROR, code, error: anyhow!("template {:?}: {e}; nothing was sent", template.name) }
        }
        other => Failure::engine(other),
    })
}

/// The user's template with this name (exactly) or id.
async fn find(engine: &Engine, name_or_id: &str) -> Result<Template, Failure> {
    let templates = engine.templates().await.map_err(Failure::engine)?;
    templates
        .into_iter()
        .find(|t| t.name == name_or_id || t.id == name_or_id)
        .ok_or_else(|| Failure { exit: crate::failure::ERROR, code: "not_found".into(), error: anyhow!("no template named {name_or_id:?} (templates list shows yours)") })
}
