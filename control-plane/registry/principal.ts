export { actorOf, SYSTEM, type Principal } from '../../actors/principal';
