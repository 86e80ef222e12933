fn main() -> std::process::ExitCode {
    assay::process::tune_allocator();
    assay::process::quit_quietly_on_closed_pipe();
    assay::cli::main()
}
