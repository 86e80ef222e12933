fn main() -> std::process::ExitCode {
    assay::tune_allocator();
    assay::quit_quietly_on_closed_pipe();
    assay::cli::main()
}
