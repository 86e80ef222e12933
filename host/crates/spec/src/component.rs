//! A component chosen by a spec: its catalog entry and resolved parameters, and for probes
//! when they run.

use assay_catalog::Entry;
use assay_sdk::Params;

/// A component chosen by a spec, with its resolved parameters. It keeps the catalog entry it
/// was resolved against, so that building it needs no second lookup by name.
#[derive(Debug, Clone)]
pub struct ComponentSpec {
    /// Every declared parameter, defaults filled in.
    pub params: Params,
    /// The catalog entry (component, origin, library) it was resolved against.
    pub entry: Entry,
}

impl ComponentSpec {
    /// The component's name.
    pub fn plugin(&self) -> &str {
        &self.entry.component.name
    }

    /// Its version in the catalog.
    pub fn version(&self) -> &str {
        &self.entry.component.version
    }
}

/// When a probe runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeSchedule {
    /// Every `n` steps, at step 0, and at the end.
    Every(u64),
    /// Only after the last step.
    End,
}

/// A probe and its schedule.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// The probe.
    pub component: ComponentSpec,
    /// When it runs.
    pub schedule: ProbeSchedule,
}
