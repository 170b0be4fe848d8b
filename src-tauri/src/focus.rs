//! What the user is looking at: whether the window is focused and which conversation it shows.
//! The engine's notification policy needs both (no notification for the conversation in view).

use std::sync::Mutex;

use rapport_client::Engine;

struct Focus {
    window_focused: bool,
    conversation: Option<String>,
}

/// The window's focus, kept across engines (a sign-in to another hub opens a new one).
pub struct WindowFocus(Mutex<Focus>);

impl Default for WindowFocus {
    // The window opens shown and focused; focus events keep this true afterwards.
    fn default() -> Self {
        WindowFocus(Mutex::new(Focus { window_focused: true, conversation: None }))
    }
}

impl WindowFocus {
    /// Tells `engine` what the user is looking at.
    pub fn apply(&self, engine: &Engine) {
        let focus = self.0.lock().expect("focus lock");
        engine.set_focus(focus.conversation.as_deref(), focus.window_focused);
    }

    /// The window gained or lost focus.
    pub fn set_window_focused(&self, focused: bool) {
        self.0.lock().expect("focus lock").window_focused = focused;
    }

    /// The conversation shown in the window changed.
    pub fn set_open_conversation(&self, conversation_id: Option<String>) {
        self.0.lock().expect("focus lock").conversation = conversation_id;
    }
}
