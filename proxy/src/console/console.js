// The console's only script: copy buttons on the install page. Without it
// the snippets are still there to select; the buttons stay hidden.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = button.dataset.copied;
      button.dataset.done = '1';
      setTimeout(() => { button.textContent = label; }, 2000);
    } catch (e) {
      getSelection().selectAllChildren(document.getElementById(button.dataset.copy));
    }
  });
}
