//! The whole-plan render as a stream: clusters render on worker threads and each cluster's
//! objects are handed on, in plan order, as soon as the clusters before it were, so that the
//! caller can serialize, compare or write them and drop them (issue #13: memory bounded by a
//! few clusters per thread, not the repository).

use std::collections::BTreeSet;

use super::{Manifest, credentials, delivery, medusa, reporter};
use crate::diagnostic::{Diagnostic, has_error};
use crate::plan::{ClusterPlan, Plan};

/// Which step of a whole-plan render produced a batch, in the order a render of the whole
/// repository at once runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// One cluster's own objects.
    Cluster,
    /// One cluster's credentials that no earlier cluster rendered.
    Credentials,
    /// The operations documents routed to their datacenters.
    Routed,
    /// The status reporter's objects.
    Reporter,
    /// The delivery objects (Argo CD, Flux), which list every context.
    Delivery,
}

/// What the rendering threads do to a cluster's objects before they are handed on.
pub type Prepare<'a> = dyn Fn(&mut [&mut Manifest]) + Sync + 'a;

/// Renders a whole plan: for each cluster its own objects, then its credentials; then what is
/// about several clusters (the routed operations documents, which must not replace a cluster's
/// object, and the reporter); then the delivery objects. Each batch goes to `emit` in that
/// order (a cluster's once the clusters before it went), until any diagnostic in `diags` is an
/// error (rendering goes on, for the diagnostics). With `context`, only the clusters with objects there are rendered
/// (their batches still hold their objects in other contexts).
///
/// `prepare` runs on the rendering threads over the objects of each cluster that will be handed
/// on (those of `context`, when given), e.g. to serialize them ([`Manifest::prepare_text`]).
///
/// Returns every context that has objects (whether or not they were emitted).
pub fn render_plan(
    plan: &Plan<'_>,
    context: Option<&str>,
    prepare: Option<&Prepare<'_>>,
    diags: &mut Vec<Diagnostic>,
    emit: &mut dyn FnMut(Step, Vec<Manifest>),
) -> BTreeSet<String> {
    let (plans, settings) = (&plan.clusters, &plan.settings);
    let mut out = Emitter {
        contexts: BTreeSet::new(),
        checked: 0,
        failed: false,
        emit,
    };
    let wanted = medusa::RouteOwners::wanted(&plan.operations);
    let mut owners = medusa::RouteOwners::default();
    let credentials = plan
        .credentials
        .as_ref()
        .map(|c| credentials::Credentials::new(c, settings));
    let mut placed = credentials::Placed::default();
    let selected: Vec<&ClusterPlan<'_>> = plans.iter().filter(|p| p.touches(context)).collect();
    // Each cluster renders on its own (a pure function of its plan), on every core; what
    // depends on the clusters before it (credentials rendered once, route owners, the output)
    // runs here, in plan order, so the result does not depend on the scheduling.
    crate::parallel::ordered_map(
        &selected,
        |cluster| {
            let mut found = Vec::new();
            let mut objects =
                super::render_cluster(cluster, context, plan.reporter.as_ref(), &mut found);
            let mut secrets = credentials.as_ref().map(|c| c.render(cluster, context));
            // A cluster with an error hands nothing on: nothing to prepare.
            if let Some(prepare) = prepare
                && !has_error(&found)
            {
                let in_context = |m: &Manifest| context.is_none_or(|c| m.context == c);
                let credentials = secrets.iter_mut().flat_map(|s| s.manifests_mut());
                let mut handed_on: Vec<&mut Manifest> = objects
                    .iter_mut()
                    .chain(credentials)
                    .filter(|m| in_context(m))
                    .collect();
                prepare(&mut handed_on);
            }
            (objects, found, secrets)
        },
        |(objects, mut found, secrets)| {
            // A cluster with problems renders nothing (the run fails; its other problems are
            // still found).
            let failed = has_error(&found);
            diags.append(&mut found);
            if !failed {
                for m in &objects {
                    owners.note(&wanted, m);
                }
                out.batch(diags, Step::Cluster, objects);
            }
            if let Some(secrets) = secrets {
                let objects = placed.keep(secrets);
                out.batch(diags, Step::Credentials, objects);
            }
        },
    );
    let routed = medusa::route(&plan.operations, &owners, diags);
    out.batch(diags, Step::Routed, routed);
    let objects = reporter::render(plans, plan.reporter.as_ref(), settings);
    out.batch(diags, Step::Reporter, objects);
    // Every context with objects, and each datacenter's context (also when only one context
    // is rendered: a cluster that renders always has its CassandraDatacenters there).
    let mut listed = out.contexts.clone();
    listed.extend(
        plans
            .iter()
            .flat_map(|p| p.dcs.iter().map(|d| d.context.clone())),
    );
    let listed: Vec<String> = listed.into_iter().collect();
    let objects = delivery::render(plans, &listed, plan.delivery.as_ref(), diags);
    out.batch(diags, Step::Delivery, objects);
    out.contexts
}

/// Hands batches on while no diagnostic is an error, noting every context with objects.
struct Emitter<'e> {
    contexts: BTreeSet<String>,
    /// How many diagnostics were checked for errors.
    checked: usize,
    failed: bool,
    emit: &'e mut dyn FnMut(Step, Vec<Manifest>),
}

impl Emitter<'_> {
    fn batch(&mut self, diags: &[Diagnostic], step: Step, objects: Vec<Manifest>) {
        for m in &objects {
            if !self.contexts.contains(&m.context) {
                self.contexts.insert(m.context.clone());
            }
        }
        self.failed = self.failed || has_error(&diags[self.checked..]);
        self.checked = diags.len();
        if !self.failed && !objects.is_empty() {
            (self.emit)(step, objects);
        }
    }
}
