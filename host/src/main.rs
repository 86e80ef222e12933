fn main() -> std::process::ExitCode {
    assay::tune_allocator();
    assay::cli::main()
}
