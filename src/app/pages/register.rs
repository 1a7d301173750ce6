//! `/register`: create an account (the first one becomes admin) and sign in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::{
    components::form_error::{flash_error, FormError},
    AuthActions,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = expect_context::<AuthActions>().register;
    let flash = flash_error();
    view! {
        <Title text="Create account · Coffer"/>
        <section class="card narrow">
            <h1>"Create account"</h1>
            <ActionForm action=register attr:class="stack" attr:aria-label="Create account">
                <FormError result=register.value() flash/>
                <label>"Email"
                    <input type="email" name="email" autocomplete="email" required/>
                </label>
                <label>"Username"
                    <input type="text" name="username" autocomplete="username" required
                        minlength="3" maxlength="32" pattern="[A-Za-z0-9_.\\-]+"
                        title="3 to 32 letters, digits, '_', '-' or '.'"/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="new-password" required minlength="8"/>
                    <small class="muted">"At least 8 characters."</small>
                </label>
                <button type="submit" disabled=move || register.pending().get()>
                    {move || if register.pending().get() { "Creating…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}
