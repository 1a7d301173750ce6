//! `/login`: email and password. Works as a plain form without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::{
    components::form_error::{flash_error, FormError},
    AuthActions,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = expect_context::<AuthActions>().login;
    let flash = flash_error();
    view! {
        <Title text="Sign in · Coffer"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="stack" attr:aria-label="Sign in">
                <FormError result=login.value() flash/>
                <label>"Email"
                    <input type="email" name="email" autocomplete="username" required/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="muted">"No account yet? " <A href="/register">"Create one"</A></p>
        </section>
    }
}
