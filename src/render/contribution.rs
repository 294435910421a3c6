//! What a feature adds to a CassandraDatacenter under construction (Medusa, the per-node
//! configuration), as a value: the feature module says what, and the datacenter module applies
//! it with [`Contribution::apply`], in the order its module docs give. Features never hold the
//! datacenter object itself.

use serde_json::{Map, Value, json};

use crate::json::{array_entry, object_entry};
use crate::ports::inject_secret::{
    INJECT_SECRET_ANNOTATION, InjectionError, add_secret_injections,
};

/// How an added container or volume meets one of the same name already in the pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Replaces it in place; appended when there is none.
    ByName,
    /// Always appended (upstream does not de-duplicate: the pod then has two).
    Append,
}

/// Credentials a feature needs mounted into some containers through Reaper's secret-injection
/// pod annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInjection {
    /// Who needs it, for the error message ("Medusa").
    pub feature: &'static str,
    /// The Secret.
    pub secret: String,
    /// The containers that get it.
    pub containers: &'static [&'static str],
}

/// Additions to one datacenter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    /// Pod template annotations, set (replacing a value of the same key).
    pub pod_annotations: Vec<(String, Value)>,
    /// Init containers. One that is appended comes after cass-operator's
    /// `server-config-init`, so a placeholder of that name is appended first when the pod
    /// template has none (cass-operator completes it).
    pub init_containers: Vec<(Value, Merge)>,
    /// Containers.
    pub containers: Vec<(Value, Merge)>,
    /// Pod volumes.
    pub volumes: Vec<(Value, Merge)>,
    /// `spec.users` entries, appended.
    pub users: Vec<Value>,
    /// CassandraDatacenter annotations, set.
    pub dc_annotations: Vec<(String, Value)>,
    /// Secrets for the injection annotation, added to what the pod template already has.
    pub secret_injections: Vec<SecretInjection>,
}

/// cass-operator's config init container, which appended init containers must follow.
pub const SERVER_CONFIG_INIT: &str = "server-config-init";

impl Contribution {
    /// Applies the additions to the pod template, `spec.users` and the DC annotations of a
    /// datacenter under construction.
    ///
    /// # Errors
    /// The pod template's secret-injection annotation cannot be read (the feature, and why).
    pub fn apply(
        self,
        pod: &mut Map<String, Value>,
        users: &mut Vec<Value>,
        dc_annotations: &mut Map<String, Value>,
    ) -> Result<(), (&'static str, InjectionError)> {
        let spec = object_entry(pod, "spec");
        for (container, merge) in self.init_containers {
            let items = array_entry(spec, "initContainers");
            if merge == Merge::ByName
                && let Some(i) = position(items, &container)
            {
                items[i] = container;
                continue;
            }
            if !items
                .iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(SERVER_CONFIG_INIT))
            {
                items.push(json!({ "name": SERVER_CONFIG_INIT }));
            }
            items.push(container);
        }
        for (key, list) in [("containers", self.containers), ("volumes", self.volumes)] {
            if list.is_empty() {
                continue;
            }
            let items = array_entry(spec, key);
            for (item, merge) in list {
                match position(items, &item).filter(|_| merge == Merge::ByName) {
                    Some(i) => items[i] = item,
                    None => items.push(item),
                }
            }
        }
        users.extend(self.users);
        dc_annotations.extend(self.dc_annotations);
        if self.pod_annotations.is_empty() && self.secret_injections.is_empty() {
            return Ok(());
        }
        let annotations = object_entry(object_entry(pod, "metadata"), "annotations");
        annotations.extend(self.pod_annotations);
        for injection in self.secret_injections {
            let existing = annotations
                .get(INJECT_SECRET_ANNOTATION)
                .and_then(Value::as_str);
            let value = add_secret_injections(existing, &[&injection.secret], injection.containers)
                .map_err(|why| (injection.feature, why))?;
            annotations.insert(INJECT_SECRET_ANNOTATION.into(), value.into());
        }
        Ok(())
    }
}

/// Index of the item named like `item`.
fn position(items: &[Value], item: &Value) -> Option<usize> {
    let name = item.get("name")?;
    items.iter().position(|x| x.get("name") == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(pod: &Map<String, Value>, key: &str) -> Vec<String> {
        pod["spec"][key]
            .as_array()
            .expect("array")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn apply(pod: Value, c: Contribution) -> Map<String, Value> {
        let Value::Object(mut pod) = pod else {
            unreachable!()
        };
        let (mut users, mut ann) = (Vec::new(), Map::new());
        c.apply(&mut pod, &mut users, &mut ann).expect("applies");
        pod
    }

    #[test]
    fn appended_init_containers_follow_a_server_config_init_placeholder_once() {
        let c = Contribution {
            init_containers: vec![
                (json!({"name": "a"}), Merge::Append),
                (json!({"name": "b"}), Merge::ByName),
            ],
            ..Contribution::default()
        };
        let pod = apply(json!({}), c);
        assert_eq!(
            names(&pod, "initContainers"),
            ["server-config-init", "a", "b"]
        );
    }

    #[test]
    fn by_name_replaces_in_place_and_append_duplicates() {
        let pod = json!({"spec": {
            "initContainers": [{"name": "user"}, {"name": "b", "image": "old"}],
            "containers": [{"name": "cassandra"}, {"name": "m", "image": "old"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
        }});
        let c = Contribution {
            init_containers: vec![(json!({"name": "b", "image": "new"}), Merge::ByName)],
            containers: vec![(json!({"name": "m", "image": "new"}), Merge::ByName)],
            volumes: vec![
                (
                    json!({"name": "v", "configMap": {"name": "x"}}),
                    Merge::Append,
                ),
                (json!({"name": "w"}), Merge::ByName),
            ],
            ..Contribution::default()
        };
        let pod = apply(pod, c);
        // Replaced in place: no placeholder needed, order kept.
        assert_eq!(names(&pod, "initContainers"), ["user", "b"]);
        assert_eq!(pod["spec"]["initContainers"][1]["image"], "new");
        assert_eq!(names(&pod, "containers"), ["cassandra", "m"]);
        assert_eq!(pod["spec"]["containers"][1]["image"], "new");
        assert_eq!(names(&pod, "volumes"), ["v", "v", "w"]);
    }

    #[test]
    fn users_annotations_and_secret_injections_are_added() {
        let Value::Object(mut pod) = json!({"metadata": {"annotations": {"keep": "me"}}}) else {
            unreachable!()
        };
        let (mut users, mut dc_ann) = (vec![json!({"secretName": "u0"})], Map::new());
        let c = Contribution {
            pod_annotations: vec![("h".into(), "1".into())],
            users: vec![json!({"secretName": "u1"})],
            dc_annotations: vec![("d".into(), "2".into())],
            secret_injections: vec![SecretInjection {
                feature: "Medusa",
                secret: "cql".into(),
                containers: &["medusa"],
            }],
            ..Contribution::default()
        };
        c.apply(&mut pod, &mut users, &mut dc_ann).expect("applies");
        assert_eq!(
            users,
            [json!({"secretName": "u0"}), json!({"secretName": "u1"})]
        );
        assert_eq!(dc_ann, json!({"d": "2"}).as_object().cloned().unwrap());
        let ann = &pod["metadata"]["annotations"];
        assert_eq!(ann["keep"], "me");
        assert_eq!(ann["h"], "1");
        assert!(
            ann[INJECT_SECRET_ANNOTATION]
                .as_str()
                .is_some_and(|v| v.contains("cql") && v.contains("medusa")),
            "{ann}"
        );
    }

    #[test]
    fn an_unreadable_injection_annotation_names_the_feature() {
        let Value::Object(mut pod) =
            json!({"metadata": {"annotations": {INJECT_SECRET_ANNOTATION: "not json"}}})
        else {
            unreachable!()
        };
        let c = Contribution {
            secret_injections: vec![SecretInjection {
                feature: "Medusa",
                secret: "cql".into(),
                containers: &["medusa"],
            }],
            ..Contribution::default()
        };
        let err = c
            .apply(&mut pod, &mut Vec::new(), &mut Map::new())
            .expect_err("refused");
        assert_eq!(err.0, "Medusa");
        assert!(matches!(err.1, InjectionError::Json(_)), "{:?}", err.1);
    }
}
