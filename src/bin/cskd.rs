fn main() -> std::process::ExitCode {
    cskd::cli::main()
}
