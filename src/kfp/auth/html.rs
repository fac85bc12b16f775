//! Just enough HTML reading for a login flow: the forms (action, method, inputs) and the links
//! of a page. Tags and attributes are read the way browsers read them (case-insensitive names,
//! quoted or bare values, character references decoded); comments, scripts and styles are
//! skipped. Text content is not kept.

/// One `<input>` of a form that a browser would submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    /// Lower-cased `type`, `text` when absent.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    /// The raw (decoded) `action`; `None` or empty means "the page's own URL".
    pub action: Option<String>,
    /// Lower-cased `method`, `get` when absent.
    pub method: String,
    pub inputs: Vec<Input>,
}

impl Form {
    pub fn input(&self, name: &str) -> Option<&Input> {
        self.inputs.iter().find(|i| i.name == name)
    }

    pub fn has_password(&self) -> bool {
        self.inputs.iter().any(|i| i.kind == "password")
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub forms: Vec<Form>,
    /// `href` of every `<a>`, decoded, in document order.
    pub links: Vec<String>,
    /// `id` attributes seen, with the text right after the element's start tag (used for
    /// error boxes such as Dex's `login-error`).
    pub ids: Vec<(String, String)>,
}

struct Tag {
    name: String,
    closing: bool,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub fn parse(html: &str) -> Page {
    let mut page = Page::default();
    let mut open_form: Option<Form> = None;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some((tag, after)) = read_tag(rest) else {
            rest = &rest[1..];
            continue;
        };
        rest = after;
        if tag.closing {
            if tag.name == "form" {
                if let Some(form) = open_form.take() {
                    page.forms.push(form);
                }
            }
            continue;
        }
        if let Some(id) = tag.attr("id") {
            let text_end = rest.find('<').unwrap_or(rest.len());
            let text = decode_entities(rest[..text_end].trim());
            page.ids.push((id.to_string(), text));
        }
        match tag.name.as_str() {
            "script" | "style" | "textarea" => {
                let close = format!("</{}", tag.name);
                rest = find_ci(rest, &close).map_or("", |at| &rest[at..]);
            }
            "form" => {
                if let Some(form) = open_form.take() {
                    page.forms.push(form);
                }
                open_form = Some(Form {
                    action: tag.attr("action").map(str::to_string),
                    method: tag.attr("method").unwrap_or("get").to_ascii_lowercase(),
                    inputs: Vec::new(),
                });
            }
            "input" => {
                if let (Some(form), Some(name)) = (open_form.as_mut(), tag.attr("name")) {
                    let kind = tag.attr("type").unwrap_or("text").to_ascii_lowercase();
                    let checked = tag.attr("checked").is_some();
                    let submitted = match kind.as_str() {
                        "submit" | "button" | "image" | "reset" | "file" => false,
                        "checkbox" | "radio" => checked,
                        _ => true,
                    };
                    if submitted && !name.is_empty() {
                        form.inputs.push(Input {
                            name: name.to_string(),
                            kind,
                            value: tag.attr("value").unwrap_or_default().to_string(),
                        });
                    }
                }
            }
            "a" => {
                if let Some(href) = tag.attr("href") {
                    page.links.push(href.to_string());
                }
            }
            _ => {}
        }
    }
    if let Some(form) = open_form.take() {
        page.forms.push(form);
    }
    page
}

/// Case-insensitive `find` of an ASCII needle.
fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    (0..hay.len().saturating_sub(needle.len() - 1))
        .find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Read one tag starting at `<`. `None` when `<` does not start a tag (e.g. `a < b`), or for
/// declarations (`<!DOCTYPE>`), which are skipped by the caller one character at a time.
fn read_tag(s: &str) -> Option<(Tag, &str)> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    if i == start || !bytes[start].is_ascii_alphabetic() {
        return None;
    }
    let name = s[start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return Some((
                Tag {
                    name,
                    closing,
                    attrs,
                },
                "",
            ));
        }
        if bytes[i] == b'>' {
            i += 1;
            break;
        }
        let key_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
        {
            i += 1;
        }
        let key = s[key_start..i].to_ascii_lowercase();
        if key.is_empty() {
            // A stray character such as a lone quote: skip it.
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let mut value = String::new();
        if bytes.get(j) == Some(&b'=') {
            j += 1;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            match bytes.get(j) {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = s[j + 1..].find(q as char).map_or(s.len(), |e| j + 1 + e);
                    value = decode_entities(&s[j + 1..end]);
                    i = (end + 1).min(s.len());
                }
                _ => {
                    let vstart = j;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    value = decode_entities(&s[vstart..j]);
                    i = j;
                }
            }
        }
        if !attrs.iter().any(|(k, _)| *k == key) {
            attrs.push((key, value));
        }
    }
    Some((
        Tag {
            name,
            closing,
            attrs,
        },
        &s[i..],
    ))
}

/// Decode the character references that appear in URLs and form values.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let semi = rest[1..]
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '#')
            .map(|p| p + 1)
            .filter(|&p| rest.as_bytes()[p] == b';');
        let decoded = semi.and_then(|p| {
            let entity = &rest[1..p];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity.strip_prefix('#').and_then(|num| {
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }),
            }?;
            Some((ch, p + 1))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEX_LOGIN: &str = r#"<!DOCTYPE html>
<html><head><style>form { color: red } <input name="nope"></style>
<script>if (a < b && c > d) { document.write('<form action="/evil">'); }</script></head>
<body><div class="theme-panel">
  <h2 class="theme-heading">Log in to Your Account</h2>
  <!-- <form action="/commented-out"> -->
  <FORM method="POST" action="/dex/auth/local/login?back=&amp;state=abc%2Fdef">
    <div class="theme-form-row">
      <input tabindex="1" required id="login" name="login" type="text" class="theme-form-input" placeholder="email address" autofocus/>
    </div>
    <input tabindex=2 required id=password name=password type=password class="theme-form-input">
    <div id="login-error" class="dex-error-box">Invalid Email Address and password.</div>
    <input type="checkbox" name="remember">
    <input type="checkbox" name="terms" checked>
    <button tabindex="3" id="submit-login" type="submit" class="dex-btn theme-btn--primary">Login</button>
  </FORM>
</div></body></html>"#;

    #[test]
    fn reads_the_dex_login_form() {
        let page = parse(DEX_LOGIN);
        assert_eq!(page.forms.len(), 1, "{page:?}");
        let form = &page.forms[0];
        assert_eq!(form.method, "post");
        assert_eq!(
            form.action.as_deref(),
            Some("/dex/auth/local/login?back=&state=abc%2Fdef")
        );
        let names: Vec<_> = form.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["login", "password", "terms"]);
        assert!(form.has_password());
        assert_eq!(form.input("password").unwrap().kind, "password");
        assert!(
            page.ids
                .iter()
                .any(|(id, text)| id == "login-error"
                    && text == "Invalid Email Address and password.")
        );
    }

    #[test]
    fn reads_connector_links_and_approval_forms() {
        let html = r#"<ul><li><a href="/dex/auth/local?client_id=kubeflow&amp;state=x" target="_self"><button>Log in with Email</button></a></li>
<li><a href='/dex/auth/ldap?client_id=kubeflow&#38;state=x'>LDAP</a></li></ul>
<form method="post"><input type="hidden" name="req" value="r1"/><input type="hidden" name="approval" value="approve"><button type="submit">Grant Access</button></form>
<form method="post"><input type="hidden" name="req" value="r1"/><input type="hidden" name="approval" value="rejected"><button type="submit">Cancel</button></form>"#;
        let page = parse(html);
        assert_eq!(
            page.links,
            [
                "/dex/auth/local?client_id=kubeflow&state=x",
                "/dex/auth/ldap?client_id=kubeflow&state=x"
            ]
        );
        assert_eq!(page.forms.len(), 2);
        assert_eq!(page.forms[0].action, None);
        assert_eq!(page.forms[0].input("approval").unwrap().value, "approve");
        assert_eq!(page.forms[1].input("approval").unwrap().value, "rejected");
    }

    #[test]
    fn survives_broken_markup() {
        for html in [
            "<",
            "<form",
            "<form action=\"x",
            "<a href=",
            "a < b",
            "<!-- x",
            "&#xZZ;",
        ] {
            let _ = parse(html);
        }
        let page = parse("<form action=\"/x\"><input name=a value=1");
        assert_eq!(page.forms[0].inputs[0].value, "1");
    }

    #[test]
    fn never_panics_on_arbitrary_input() {
        // Deterministic pseudo-random documents built from markup fragments and multi-byte text.
        let pieces = [
            "<",
            ">",
            "</",
            "<form",
            "<input",
            "<a",
            " href=",
            " name=",
            "\"",
            "'",
            "=",
            "&amp;",
            "&#",
            "&#x",
            ";",
            "<!--",
            "-->",
            "<script>",
            "</script",
            "é",
            "日本",
            "🦀",
            " ",
            "/",
            "value",
            "type=password",
            "\n",
            "<FORM action=",
            "&",
            "x",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let mut doc = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                doc.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = parse(&doc);
            let _ = decode_entities(&doc);
        }
    }

    #[test]
    fn decodes_character_references() {
        assert_eq!(decode_entities("a&amp;b&lt;&#47;&#x2F;&quot;"), "a&b<//\"");
        assert_eq!(decode_entities("AT&T &unknown; &"), "AT&T &unknown; &");
    }
}
