import '../../lambda/rehearsal/promise-polyfill';
