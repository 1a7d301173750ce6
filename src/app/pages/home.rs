//! `/`: a welcome for visitors; the account overview for signed-in users.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::app::{api::auth::current_user, components::loading::Loading, context::AuthActions};

#[component]
pub fn HomePage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let user = Resource::new(move || actions.version(), |_| current_user());
    view! {
        <Loading data=user show=|user| match user {
            Ok(Some(user)) => view! {
                <section class="card">
                    <h1>"Welcome, " {user.username.clone()}</h1>
                    <dl class="facts">
                        <dt>"Email"</dt><dd>{user.email.clone()}</dd>
                        <dt>"Role"</dt><dd>{user.role.as_str()}</dd>
                    </dl>
                    <p><A href="/files" attr:class="button">"Your files"</A></p>
                </section>
            }.into_any(),
            Ok(None) => view! {
                <section class="hero">
                    <h1>"Send files that matter."</h1>
                    <p>"Coffer keeps your files encrypted at rest and shares them through links you control."</p>
                    <p class="actions">
                        <A href="/login" attr:class="button">"Sign in"</A>
                        <A href="/register">"Create an account"</A>
                    </p>
                </section>
            }.into_any(),
            Err(e) => view! { <p class="form-error" role="alert">{e.detail}</p> }.into_any(),
        }/>
    }
}
