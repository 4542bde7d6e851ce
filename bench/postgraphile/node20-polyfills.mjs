// PostGraphile 5 asks for Node 22; on Node 20 (this project's floor) it runs once given the one
// ES2024 built-in it uses that Node 20 lacks. Imported before PostGraphile; a no-op on Node 22+.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
