import '../../lambda/adapters/local/promise-polyfill';
