//! The top bar: the product name, the signed-in user's pages, who is signed in and a sign-out
//! button. Below 44rem the pages fold into a menu: a popover, which opens and closes without
//! JavaScript on the pages served without the wasm.

use leptos::{html, prelude::*};
use leptos_router::{components::A, hooks::use_location};

use crate::app::{api::auth::current_user, context::AuthActions};

#[component]
pub fn Header() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    // Read again on every navigation too: a browser whose session ended elsewhere (signed out
    // everywhere, disabled by an admin) shows it is signed out on its next click.
    let location = use_location();
    let user = Resource::new(
        move || (actions.version(), location.pathname.get()),
        |_| current_user(),
    );
    // A link in the open menu leads to another page in place: the menu closes with it.
    let menu = NodeRef::<html::Nav>::new();
    Effect::new(move |_| {
        location.pathname.track();
        if let Some(menu) = menu.get_untracked() {
            let _ = menu.hide_popover();
        }
    });

    view! {
        <header class="topbar">
            <A href="/" attr:class="brand"><img src="/favicon.svg" alt="" width="24" height="24"/>"Coffer"</A>
            <Transition fallback=|| ()>
                {move || match user.get() {
                    Some(Ok(Some(user))) => view! {
                        <button type="button" class="menu-button secondary small" popovertarget="site-nav"
                            data-testid="menu-button">"Menu"</button>
                        <nav id="site-nav" class="site-nav" popover="auto" aria-label="Main" node_ref=menu>
                            <A href="/files">"Files"</A>
                            <A href="/requests">"Requests"</A>
                            <A href="/settings/security">"Security"</A>
                            <A href="/settings/webhooks">"Webhooks"</A>
                            {user.is_admin().then(|| view! { <A href="/admin" attr:data-testid="admin-link">"Admin"</A> })}
                            <div class="account">
                                <span class="whoami" data-testid="whoami">
                                    <span class="sr-only">"Signed in as "</span>
                                    <strong>{user.username.clone()}</strong>
                                    {user.is_admin().then(|| view! { <span class="badge">"admin"</span> })}
                                </span>
                                <ActionForm action=actions.logout attr:class="inline">
                                    <button type="submit" class="secondary small">"Sign out"</button>
                                </ActionForm>
                            </div>
                        </nav>
                    }.into_any(),
                    Some(Ok(None)) => view! {
                        <nav class="visitor-nav" aria-label="Main">
                            <A href="/login">"Sign in"</A>
                            <A href="/register" attr:class="button small">"Create account"</A>
                        </nav>
                    }.into_any(),
                    Some(Err(e)) => view! { <span class="form-error" role="alert">{e.detail}</span> }.into_any(),
                    None => ().into_any(),
                }}
            </Transition>
        </header>
    }
}
