//! `kaizala emulator`: the platform on this machine (the `kaizala-emulator`
//! binary's options).

use kaizala_emulator::cli::EmulatorArgs;

use crate::error::{CliError, CliResult};

/// Runs the emulator until Ctrl-C.
pub async fn run(args: EmulatorArgs) -> CliResult {
    let listen = args.listen;
    kaizala_emulator::cli::run(args).await.map_err(|message| {
        let error = CliError::new(message.clone());
        if message.contains("in use") {
            error.hint(format!(
                "another program already listens on port {}; choose another with --listen",
                listen.port()
            ))
        } else {
            error
        }
    })
}
