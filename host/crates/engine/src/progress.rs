//! The progress bar of a run: hidden when quiet or when standard error is not a terminal.

use std::io::IsTerminal;

/// A bar over `total` units drawn with `template` (indicatif's syntax; e.g. `{pos}/{len}`).
pub(crate) fn bar(total: u64, template: &str, quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(total);
    b.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}
