//! `kfpx login google` / `kfpx logout google`: the IAP user-account login (the flow itself is
//! in `kfp::auth::login`).

use crate::cli::{LoginCommand, LogoutCommand};
use crate::commands::Ctx;
use crate::error::Result;
use crate::kfp::auth::{login as flow, AuthEnv, Secret};
use crate::kfp::{session, KfpError};

fn credentials_file(env: &AuthEnv) -> Result<std::path::PathBuf> {
    env.kfp_credentials_file.clone().ok_or_else(|| {
        KfpError::Auth("cannot find the home directory to store the login in: set HOME".into())
            .into()
    })
}

pub fn login(_ctx: &Ctx, cmd: LoginCommand) -> Result<()> {
    let LoginCommand::Google(args) = cmd;
    let env = AuthEnv::from_process();
    let file = credentials_file(&env)?;
    let req = flow::LoginRequest {
        iap_client_id: args.iap_client_id.trim(),
        oauth_client_id: args.oauth_client_id.trim(),
        oauth_client_secret: Secret::new(args.oauth_client_secret.trim()),
        open_browser: !args.no_browser,
    };
    let mut say = |line: &str| eprintln!("{line}");
    session::runtime()?.block_on(flow::login(req, &env, &file, &mut say))?;
    Ok(())
}

pub fn logout(_ctx: &Ctx, cmd: LogoutCommand) -> Result<()> {
    let LogoutCommand::Google(args) = cmd;
    let env = AuthEnv::from_process();
    let file = credentials_file(&env)?;
    let removed = flow::logout(&file, args.iap_client_id.as_deref())?;
    match (removed, &args.iap_client_id) {
        (0, Some(id)) => eprintln!("No login for IAP client {id} in {}.", file.display()),
        (0, None) => eprintln!("No Google login stored in {}.", file.display()),
        (n, _) => eprintln!("Removed {n} Google login(s) from {}.", file.display()),
    }
    Ok(())
}
