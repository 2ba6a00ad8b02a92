//! The migration binary: `migrations upgrade head`, `migrations history`, ...

fn main() -> std::process::ExitCode {
    cargo_migrate::run::<migrations::Migrator>()
}
