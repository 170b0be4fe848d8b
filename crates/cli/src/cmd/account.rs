//! `register`, `login`, `logout`, `whoami`.

use anyhow::anyhow;
use rapport_client::{Engine, Role, User};

use crate::failure::Failure;
use crate::output::Output;

fn print_user(out: &Output, verb: &str, user: &User) {
    out.emit(user, || format!("{verb} {} <{}> ({}, id {})", user.display_name, user.email, user.role.as_str(), user.id));
}

/// Creates the account and logs this profile in.
pub async fn register(engine: &Engine, out: &Output, email: &str, password: &str, name: &str, role: Role) -> Result<(), Failure> {
    let user = engine.register(email, password, name, role).await.map_err(Failure::engine)?;
    print_user(out, "registered and logged in as", &user);
    Ok(())
}

/// Logs this profile in.
pub async fn login(engine: &Engine, out: &Output, email: &str, password: &str) -> Result<(), Failure> {
    let user = engine.login(email, password).await.map_err(Failure::engine)?;
    print_user(out, "logged in as", &user);
    Ok(())
}

/// Logs out and forgets the profile's login and cache.
pub async fn logout(engine: &Engine, out: &Output) -> Result<(), Failure> {
    let was = engine.me();
    engine.logout().await.map_err(Failure::engine)?;
    out.emit(&serde_json::json!({"logged_out": true, "user": was}), || match &was {
        Some(u) => format!("logged out {}", u.email),
        None => "was not logged in".into(),
    });
    Ok(())
}

/// Prints the logged-in user (from the profile; works offline).
pub fn whoami(engine: &Engine, out: &Output) -> Result<(), Failure> {
    let user = engine.me().ok_or_else(|| Failure::error(anyhow!("not logged in (use register or login)")))?;
    print_user(out, "logged in as", &user);
    Ok(())
}
