//! Pipelines and versions: list, get, create, upload, patch, delete (both API versions).

use super::*;

impl Store {
    // ----- pipelines ---------------------------------------------------------------------

    pub(super) fn list_pipelines(&self, c: &Ctx, api: Api) -> R {
        let ns = self.ns(c, &Self::list_ns(c, api));
        self.authz(c, &ns)?;
        let all: Vec<&Pipeline> = self
            .pipelines
            .values()
            .filter(|p| p.namespace == ns)
            .collect();
        let pg = page(
            all,
            c.query,
            api,
            PIPELINE_KEYS,
            |p, f| match f {
                "id" => s(&p.id),
                "name" => s(&p.name),
                "display_name" => s(&p.display_name),
                "description" => s(&p.description),
                "namespace" => s(&p.namespace),
                _ => FieldVal::Num(p.created),
            },
            |p| p.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|p| match api {
                Api::V2 => self.pipeline_v2(p, c.control.version),
                Api::V1 => self.pipeline_v1(p),
            })
            .collect();
        Ok(list_reply("pipelines", items, pg.total, pg.next_page_token))
    }

    pub(super) fn pipeline_by_name(&self, c: &Ctx, name: &str, api: Api) -> R {
        let ns = self.ns(
            c,
            c.query.get("namespace").map(String::as_str).unwrap_or(""),
        );
        self.authz(c, &ns)?;
        let p = self
            .pipelines
            .values()
            .find(|p| p.namespace == ns && p.name == name)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "Failed to get a pipeline with name {name} and namespace {ns}: ResourceNotFoundError: Pipeline {name} not found"
                ))
            })?;
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.pipeline_v2(p, c.control.version),
                Api::V1 => self.pipeline_v1(p),
            },
        ))
    }

    pub(super) fn name_taken(&self, ns: &str, name: &str) -> bool {
        self.pipelines
            .values()
            .any(|p| p.namespace == ns && p.name == name)
    }

    pub(super) fn create_pipeline_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let name = Some(gs(b, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| gs(b, "display_name"));
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline: pipeline name is required",
            ));
        }
        let display = Some(gs(b, "display_name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| name.clone());
        let ns = self.ns(c, &gs(b, "namespace"));
        self.authz(c, &ns)?;
        if self.name_taken(&ns, &name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline: AlreadyExistsError: Pipeline with name {name} already exists in namespace {ns:?}")));
        }
        let (id, created) = self.next(0x91);
        let tags: BTreeMap<String, String> = get(b, "tags")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        let p = Pipeline {
            id: id.clone(),
            name,
            display_name: display,
            description: gs(b, "description"),
            namespace: ns,
            created,
            tags,
            default_version: String::new(),
        };
        let out = self.pipeline_v2(&p, c.control.version);
        self.pipelines.insert(id, p);
        Ok(Reply::json(200, &out))
    }

    pub(super) fn create_pipeline_and_version_v2(&mut self, c: &Ctx, b: &Value) -> R {
        let pb = get(b, "pipeline").cloned().unwrap_or(Value::Null);
        let vb = get(b, "pipeline_version").cloned().unwrap_or(Value::Null);
        if !pb.is_object() || !vb.is_object() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline and a pipeline version: both pipeline and pipeline_version are required",
            ));
        }
        let url = get(&vb, "package_url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if url.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline and a pipeline version: pipeline_version.package_url.pipeline_url is required"));
        }
        let reply = self.create_pipeline_v2(c, &pb)?;
        let created: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
        let pid = gs(&created, "pipeline_id");
        let p = self.pipelines[&pid].clone();
        let vname = Some(gs(&vb, "name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| p.name.clone());
        let vdisplay = Some(gs(&vb, "display_name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| vname.clone());
        let vid = self.add_version(
            &pid,
            &vname,
            &vdisplay,
            &gs(&vb, "description"),
            None,
            String::new(),
        );
        if let Some(v) = self.versions.get_mut(&vid) {
            v.package_url = url;
        }
        Ok(reply)
    }

    pub(super) fn create_pipeline_v1(&mut self, c: &Ctx, b: &Value) -> R {
        let name = gs(b, "name");
        let url = get(b, "url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if name.is_empty() || url.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline: name and url.pipeline_url are required",
            ));
        }
        let ns = self.ns(c, &ref_id(&refs(b), "NAMESPACE"));
        self.authz(c, &ns)?;
        if self.name_taken(&ns, &name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline: AlreadyExistsError: Pipeline with name {name} already exists")));
        }
        let (pid, vid) = self.create_pipeline_with_version(
            &name,
            &name,
            &gs(b, "description"),
            &ns,
            None,
            String::new(),
        );
        if let Some(v) = self.versions.get_mut(&vid) {
            v.package_url = url;
        }
        Ok(Reply::json(200, &self.pipeline_v1(&self.pipelines[&pid])))
    }

    pub(super) fn patch_pipeline(&mut self, c: &Ctx, id: &str, b: &Value) -> R {
        if !c.control.version.at_least(2, 17) {
            return Err(ApiError::not_found("Not Found"));
        }
        self.pipeline(id)?;
        let p = self.pipelines.get_mut(id).expect("checked");
        if let Some(d) = get(b, "display_name").and_then(Value::as_str) {
            p.display_name = d.to_string();
        }
        if let Some(t) = get(b, "tags").and_then(|t| serde_json::from_value(t.clone()).ok()) {
            p.tags = t;
        }
        let p = p.clone();
        Ok(Reply::json(200, &self.pipeline_v2(&p, c.control.version)))
    }

    pub(super) fn delete_pipeline(
        &mut self,
        c: &Ctx,
        id: &str,
        api: Api,
        viol: &mut Vec<String>,
    ) -> R {
        self.pipeline(id)?;
        let cascade_asked = c.query.get("cascade").map(String::as_str) == Some("true");
        let cascade = match api {
            Api::V1 => true,
            Api::V2 if cascade_asked && !c.control.version.at_least(2, 14) => {
                viol.push(format!(
                    "query cascade is ignored by KFP {} (added in 2.14.0)",
                    c.control.version.tag()
                ));
                false
            }
            Api::V2 => cascade_asked,
        };
        let n_versions = self.versions_of(id).len();
        if n_versions > 0 && !cascade {
            let mut e = ApiError::invalid(format!(
                "Failed to delete pipeline {id}: FailedPreconditionError: Pipeline {id} has {n_versions} existing version(s); delete them first or pass cascade=true"
            ));
            e.code = 9;
            return Err(e);
        }
        for vid in self.by_pipeline.remove(id).unwrap_or_default() {
            self.versions.remove(&vid);
        }
        self.pipelines.remove(id);
        Ok(Reply::json(200, &json!({})))
    }

    pub(super) fn list_versions(&self, c: &Ctx, pid: &str, api: Api) -> R {
        let p = self.pipeline(pid)?;
        self.authz(c, &p.namespace)?;
        let all = self.versions_of(pid);
        let pg = page(
            all,
            c.query,
            api,
            VERSION_KEYS,
            |v, f| match f {
                "id" => s(&v.id),
                "name" => s(&v.name),
                "display_name" => s(&v.display_name),
                "description" => s(&v.description),
                _ => FieldVal::Num(v.created),
            },
            |v| v.id.clone(),
        )?;
        let items = pg
            .items
            .iter()
            .map(|v| match api {
                Api::V2 => self.version_v2(v, c.control.version),
                Api::V1 => self.version_v1(v),
            })
            .collect();
        let key = match api {
            Api::V2 => "pipeline_versions",
            Api::V1 => "versions",
        };
        Ok(list_reply(key, items, pg.total, pg.next_page_token))
    }

    pub(super) fn create_version_json(&mut self, c: &Ctx, pid: &str, b: &Value, api: Api) -> R {
        if pid.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline version: the parent pipeline id is required (resource_references PIPELINE/OWNER)"));
        }
        let p = self.pipeline(pid)?.clone();
        self.authz(c, &p.namespace)?;
        let url = get(b, "package_url")
            .map(|u| gs(u, "pipeline_url"))
            .unwrap_or_default();
        if url.is_empty() {
            return Err(ApiError::invalid("Invalid input error: Failed to create a pipeline version: package_url.pipeline_url is required"));
        }
        let name = gs(b, "name");
        let name = if name.is_empty() {
            gs(b, "display_name")
        } else {
            name
        };
        if name.is_empty() {
            return Err(ApiError::invalid(
                "Invalid input error: Failed to create a pipeline version: name is required",
            ));
        }
        if self.versions_of(pid).iter().any(|v| v.name == name) {
            return Err(ApiError::new(409, format!("Failed to create a pipeline version: AlreadyExistsError: PipelineVersion with name {name} already exists")));
        }
        let display = Some(gs(b, "display_name"))
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| name.clone());
        let vid = self.add_version(
            pid,
            &name,
            &display,
            &gs(b, "description"),
            None,
            String::new(),
        );
        let v = self.versions.get_mut(&vid).expect("just added");
        v.package_url = url;
        v.code_source_url = gs(b, "code_source_url");
        let v = v.clone();
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.version_v2(&v, c.control.version),
                Api::V1 => self.version_v1(&v),
            },
        ))
    }

    /// Multipart upload of a pipeline (or a version), both API versions, in the order and with
    /// the statuses of the server's pipeline_upload_server.go: form errors 400, an unknown
    /// pipeline or a denied namespace 400, a duplicate name 409, and a spec the server cannot
    /// use 500 (only AlreadyExists is told apart from other creation errors).
    pub(super) fn upload(
        &mut self,
        c: &Ctx,
        api: Api,
        as_version: bool,
        viol: &mut Vec<String>,
    ) -> R {
        let (form_err, read_err, create_err) = if as_version {
            (
                "Failed to create a pipeline version due to error parsing pipeline spec filename",
                "Failed to create a pipeline version due to error reading pipeline spec file",
                "Failed to create a pipeline version",
            )
        } else {
            (
                "Failed to read pipeline from file",
                "Failed to read a pipeline spec file",
                "Failed to create a pipeline and a pipeline version",
            )
        };
        let parts = match &c.multipart {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                viol.push(format!("upload body is not valid multipart/form-data: {e}"));
                return Err(ApiError::invalid(format!("{form_err}: {e}")));
            }
            None => {
                return Err(ApiError::invalid(format!(
                    "{form_err}: not a multipart request"
                )))
            }
        };
        let Some(file) = parts.iter().find(|p| p.name == "uploadfile") else {
            let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
            viol.push(format!(
                "upload has no multipart field \"uploadfile\" (fields: {names:?})"
            ));
            return Err(ApiError::invalid(format!("{form_err}: http: no such file")));
        };
        let filename = file.filename.clone().unwrap_or_default();
        let lower = filename.to_ascii_lowercase();
        if filename.is_empty() {
            viol.push("the uploadfile part has no filename".into());
        }
        if !(lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")) {
            return Err(ApiError::invalid(format!(
                "{read_err}: Invalid input error: Unexpected pipeline file format {filename:?}. Support .zip, .tar.gz, .json or YAML (the fake reads YAML/JSON only)"
            )));
        }
        if file.data.len() > 32 << 20 {
            return Err(ApiError::invalid(format!(
                "{read_err}: Invalid input error: File size too large. Maximum supported size: 32 MiB"
            )));
        }
        let raw = String::from_utf8_lossy(&file.data).into_owned();
        let ver = c.control.version;

        // Query parameters this server version knows (the handler is shared by both APIs;
        // the generic query check records the ones the v1 spec does not declare).
        let mut q = c.query.clone();
        let gated: &[(&str, (u32, u32))] = &[("display_name", (2, 14)), ("tags", (2, 17))];
        for (k, (maj, min)) in gated {
            if q.contains_key(*k) && !ver.at_least(*maj, *min) {
                viol.push(format!(
                    "upload query {k:?} is not known to KFP {} (ignored by the server)",
                    ver.tag()
                ));
                q.remove(*k);
            }
        }
        let tags: BTreeMap<String, String> = match q.get("tags") {
            None => BTreeMap::new(),
            Some(t) => serde_json::from_str(t).map_err(|e| {
                ApiError::invalid(format!(
                    "{create_err}: invalid tags {t:?} (want a JSON object of strings): {e}"
                ))
            })?,
        };
        let qname = q.get("name").cloned().unwrap_or_default();
        let qdisplay = q.get("display_name").cloned().unwrap_or_default();
        let name = [qname, qdisplay.clone(), filename.clone()]
            .into_iter()
            .find(|n| !n.is_empty())
            .unwrap_or_default();
        let display = if qdisplay.is_empty() {
            name.clone()
        } else {
            qdisplay
        };
        let description = q.get("description").cloned().unwrap_or_default();
        let too_long = |what: &str| {
            Ok(Reply::text(
                400,
                "text/plain; charset=utf-8",
                &format!("Invalid input error: {what} Name length cannot exceed 100 characters, got {}\n", name.chars().count()),
            ))
        };
        let authz_failed = |e: ApiError, what: &str| {
            ApiError::invalid(format!(
                "Failed to create {what} due to authorization error: {}",
                e.message
            ))
        };
        // Template problems surface from the resource manager: everything but AlreadyExists
        // is answered 500 by the upload handler.
        let parse = |bytes: &[u8]| {
            parse_template(bytes)
                .map_err(|e| ApiError::new(500, format!("{create_err}: Invalid input error: {e}")))
        };

        if !as_version {
            let ns = self.ns(c, q.get("namespace").map(String::as_str).unwrap_or(""));
            self.authz(c, &ns)
                .map_err(|e| authz_failed(e, "a pipeline"))?;
            if name.chars().count() > 100 {
                return too_long("Pipeline");
            }
            let template = parse(&file.data)?;
            if self.name_taken(&ns, &name) {
                return Err(ApiError::new(
                    409,
                    format!("{create_err}. The pipeline already exists.: Already exists error: Pipeline with name {name:?} already exists in namespace {ns:?}"),
                ));
            }
            let (pid, vid) = self.create_pipeline_with_version(
                &name,
                &display,
                &description,
                &ns,
                Some(template),
                raw,
            );
            if let Some(p) = self.pipelines.get_mut(&pid) {
                p.tags = tags.clone();
            }
            if let Some(v) = self.versions.get_mut(&vid) {
                v.tags = tags;
            }
            let p = &self.pipelines[&pid];
            return Ok(Reply::json(
                200,
                &match api {
                    Api::V2 => self.pipeline_v2(p, ver),
                    Api::V1 => self.pipeline_v1(p),
                },
            ));
        }

        let pid = q.get("pipelineid").cloned().unwrap_or_default();
        if pid.is_empty() {
            return Err(ApiError::invalid(
                "Failed to create a pipeline version due to error reading pipeline id",
            ));
        }
        if name.chars().count() > 100 {
            return too_long("PipelineVersion");
        }
        let p = self.pipelines.get(&pid).cloned().ok_or_else(|| {
            ApiError::invalid(format!(
                "Failed to create a pipeline version due to error reading namespace: Failed to fetch namespace: ResourceNotFoundError: Pipeline {pid} not found"
            ))
        })?;
        self.authz(c, &p.namespace)
            .map_err(|e| authz_failed(e, "a pipeline version"))?;
        let template = parse(&file.data)?;
        if self.versions_of(&pid).iter().any(|v| v.name == name) {
            return Err(ApiError::new(
                409,
                format!("{create_err}. The pipeline already exists.: Already exists error: PipelineVersion with name {name:?} already exists"),
            ));
        }
        let vid = self.add_version(&pid, &name, &display, &description, Some(template), raw);
        if let Some(v) = self.versions.get_mut(&vid) {
            v.tags = tags;
        }
        let v = &self.versions[&vid];
        Ok(Reply::json(
            200,
            &match api {
                Api::V2 => self.version_v2(v, ver),
                Api::V1 => self.version_v1(v),
            },
        ))
    }
}
