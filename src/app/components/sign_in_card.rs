//! What a page for signed-in users shows a visitor who is not signed in: the page's title, what
//! signing in is for, and the way to sign in.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn SignInCard(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>{title}</h1>
            <p>{text}</p>
            <p class="actions"><A href="/login" attr:class="button">"Sign in"</A></p>
        </section>
    }
}
