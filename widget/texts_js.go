//go:build js

package widget

// builtinTexts is empty in the browser: the shell loads the chatflow's
// language from public/i18n before anything is shown.
var builtinTexts = Texts{}
